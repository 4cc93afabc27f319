/** The auth server's configuration: SMTP_URL, MAIL_FROM, PUBLIC_URL are checked at start. */
import t from 'tap'
import { ConfigError, loadConfig } from '../../adapters/config.ts'

t.test('mail and public URL settings', async (t) => {
  const defaults = loadConfig({})
  t.strictSame(defaults.mail, { smtpUrl: undefined, from: 'Capsicum <no-reply@localhost>' })
  t.equal(defaults.publicUrl, undefined)
  const set = loadConfig({ SMTP_URL: 'smtps://user:pw@mail.example:465', MAIL_FROM: 'Ops <ops@example.com>', PUBLIC_URL: 'https://auth.example.com/' })
  t.strictSame(set.mail, { smtpUrl: 'smtps://user:pw@mail.example:465', from: 'Ops <ops@example.com>' })
  t.equal(set.publicUrl, 'https://auth.example.com', 'a trailing slash is dropped')
  t.throws(() => loadConfig({ SMTP_URL: 'http://user:secret@mail.example' }), ConfigError)
  try {
    loadConfig({ SMTP_URL: 'http://user:secret@mail.example' })
  } catch (error) {
    t.match((error as Error).message, /SMTP_URL="http:\/\/\.\.\." is not valid/)
    t.notMatch((error as Error).message, /secret/, 'the password in the URL is not echoed')
  }
  t.throws(() => loadConfig({ PUBLIC_URL: 'auth.example.com' }), ConfigError)
  t.throws(() => loadConfig({ PUBLIC_URL: 'https://auth.example.com/app' }), ConfigError, 'no path')
})

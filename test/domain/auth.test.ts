/** The auth server's deciders, given/when/then: users, e-mail claims, applications, codes, refresh families, sessions, login throttling. */
import t from 'tap'
import { applicationDecider, redirectUriProblem, type ApplicationEvent } from '../../domain/application/application.ts'
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors.ts'
import { authorizationCodeDecider, type AuthorizationCodeEvent } from '../../domain/oauth/authorization-code.ts'
import { isLockedOut, isReserved, loginAttemptsDecider, type LoginAttemptEvent } from '../../domain/oauth/login-attempts.ts'
import { refreshTokenDecider, type RefreshTokenEvent } from '../../domain/oauth/refresh-token-family.ts'
import { ssoSessionDecider, sessionUser } from '../../domain/oauth/sso-session.ts'
import { emailClaimDecider } from '../../domain/user/email-claim.ts'
import { hasConsented, userDecider, type UserEvent } from '../../domain/user/user.ts'
import { fold } from '../../domain/decider.ts'
import { given } from '../helpers/decider-spec.ts'

const now = new Date('2026-03-01T12:00:00.000Z')
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs)
const userId = '11111111-1111-4111-8111-111111111111'
const accountId = '22222222-2222-4222-8222-222222222222'
const profile = { firstName: 'Ada', lastName: 'Lovelace', phoneNumber: null, userClassId: null, userGroupId: null, permissionRoleId: null }
const registered: UserEvent = {
  type: 'UserRegistered',
  data: { ...profile, userId, accountId, email: 'ada@example.com', passwordHash: 'scrypt$h', applicationId: null, admin: false, registeredAt: '2026-01-01T00:00:00.000Z' },
}
const resetRequested: UserEvent = {
  type: 'PasswordResetRequested',
  data: { userId, resetId: 'r1', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', tokenHash: 'th1', requestedAt: now.toISOString(), expiresAt: at(3600_000).toISOString() },
}

t.test('a user', async (t) => {
  const spec = given(userDecider, now)
  t.test('registers once; the same registration again is a retry', async (t) => {
    const command = { type: 'RegisterUser', data: { ...profile, userId, accountId, email: 'ada@example.com', passwordHash: 'scrypt$h', applicationId: null, admin: false } } as const
    spec([]).when(command).then(t, [{ type: 'UserRegistered', data: { ...command.data, registeredAt: now.toISOString() } }])
    spec([registered]).when(command).thenNothingHappened(t)
    spec([registered]).when({ ...command, data: { ...command.data, accountId: 'other' } }).thenThrows(t, ConflictError)
  })
  t.test('refuses a change of e-mail', async (t) => {
    spec([registered]).when({ type: 'UpdateUser', data: { userId, changes: {}, email: 'new@example.com' } }).thenThrows(t, ValidationError)
  })
  t.test('records only the fields that change', async (t) => {
    spec([registered])
      .when({ type: 'UpdateUser', data: { userId, changes: { firstName: 'Ada', lastName: 'King' }, email: 'ada@example.com' } })
      .then(t, [{ type: 'UserUpdated', data: { userId, changes: { lastName: 'King' }, updatedAt: now.toISOString() } }])
  })
  t.test('an unknown user is not found', async (t) => {
    spec([]).when({ type: 'UpdateUser', data: { userId, changes: { firstName: 'x' } } }).thenThrows(t, NotFoundError)
  })
  t.test('a reset token works once, within the hour', async (t) => {
    const reset = { type: 'ResetPassword', data: { userId, tokenHash: 'th1', passwordHash: 'scrypt$new' } } as const
    spec([registered, resetRequested]).when(reset).then(t, [
      { type: 'PasswordChanged', data: { userId, passwordHash: 'scrypt$new', resetId: 'r1', credentialsVersion: 1, changedAt: now.toISOString() } },
    ])
    const changed = userDecider.decide(reset, fold(userDecider, [registered, resetRequested]), now)
    spec([registered, resetRequested, ...changed]).when(reset).thenThrows(t, ValidationError)
    given(userDecider, at(3600_000))([registered, resetRequested]).when(reset).thenThrows(t, ValidationError)
    spec([registered, resetRequested]).when({ ...reset, data: { ...reset.data, tokenHash: 'other' } }).thenThrows(t, ValidationError)
  })
  t.test('a password change moves the credentials version on', async (t) => {
    const state = fold(userDecider, [registered, resetRequested, { type: 'PasswordChanged', data: { userId, passwordHash: 'p', resetId: 'r1', credentialsVersion: 1, changedAt: now.toISOString() } }])
    t.equal(state.status === 'registered' && state.credentialsVersion, 1)
  })
  t.test('remembers consents', async (t) => {
    const granted = userDecider.decide({ type: 'GrantConsent', data: { userId, clientId: 'c', scope: ['things'] } }, fold(userDecider, [registered]), now)
    const state = fold(userDecider, [registered, ...granted])
    t.ok(hasConsented(state, 'c', ['things']))
    t.notOk(hasConsented(state, 'c', ['things', 'rules']), 'asking for more asks again')
    t.notOk(hasConsented(state, 'other', []))
    spec([registered, ...granted]).when({ type: 'GrantConsent', data: { userId, clientId: 'c', scope: ['things'] } }).thenNothingHappened(t)
  })
})

t.test('an e-mail claim', async (t) => {
  const spec = given(emailClaimDecider, now)
  const claimed = { type: 'EmailClaimed', data: { email: 'ada@example.com', userId: 'u1', claimedAt: now.toISOString() } } as const
  t.test('is taken by the first user', async (t) => {
    spec([]).when({ type: 'ClaimEmail', data: { email: 'Ada@Example.com', userId: 'u1' } }).then(t, [claimed])
  })
  t.test('refuses a second user', async (t) => {
    spec([claimed]).when({ type: 'ClaimEmail', data: { email: 'ada@example.com', userId: 'u2' } }).thenThrows(t, ConflictError)
  })
  t.test('may be taken over from an orphan', async (t) => {
    spec([claimed]).when({ type: 'ClaimEmail', data: { email: 'ada@example.com', userId: 'u2', orphanOf: 'u1' } }).then(t, [
      { type: 'EmailClaimed', data: { email: 'ada@example.com', userId: 'u2', claimedAt: now.toISOString() } },
    ])
  })
})

t.test('an application', async (t) => {
  const spec = given(applicationDecider, now)
  const created: ApplicationEvent = {
    type: 'ApplicationCreated',
    data: { applicationId: 'a1', accountId, ownerUserId: userId, name: 'App', description: null, secretHash: 'sh', management: false, createdAt: now.toISOString() },
  }
  const owner = { accountId, admin: false }
  t.test("another account's is not found", async (t) => {
    spec([created]).when({ type: 'UpdateApplication', data: { applicationId: 'a1', requester: { accountId: 'x', admin: false }, changes: { name: 'Mine' } } }).thenThrows(t, NotFoundError)
  })
  t.test('only an admin blocks or unblocks', async (t) => {
    spec([created]).when({ type: 'UpdateApplication', data: { applicationId: 'a1', requester: owner, changes: { status: 'blocked' } } }).thenThrows(t, ForbiddenError)
    spec([created]).when({ type: 'UpdateApplication', data: { applicationId: 'a1', requester: { accountId: 'x', admin: true }, changes: { status: 'blocked' } } }).then(t, [
      { type: 'ApplicationUpdated', data: { applicationId: 'a1', changes: { status: 'blocked' }, updatedAt: now.toISOString() } },
    ])
  })
  t.test('adds a redirect URI once, and refuses unsafe ones', async (t) => {
    const add = { type: 'AddRedirectUri', data: { applicationId: 'a1', requester: owner, redirectId: 'r1', redirectUri: 'https://x.example/cb' } } as const
    const added = applicationDecider.decide(add, fold(applicationDecider, [created]), now)
    t.equal(added.length, 1)
    spec([created, ...added]).when({ ...add, data: { ...add.data, redirectId: 'r2' } }).thenNothingHappened(t)
    spec([created]).when({ ...add, data: { ...add.data, redirectUri: 'http://x.example/cb' } }).thenThrows(t, ValidationError)
  })
  t.test('redirect URI rules', async (t) => {
    t.equal(redirectUriProblem('https://a.example/cb'), null)
    t.equal(redirectUriProblem('http://127.0.0.1:8080/cb'), null)
    t.equal(redirectUriProblem('com.example.app:/cb'), null)
    t.match(redirectUriProblem('https://a.example/cb#x'), /fragment/)
    t.match(redirectUriProblem('javascript:alert(1)'), /javascript/)
    t.match(redirectUriProblem('cb'), /absolute/)
  })
})

t.test('an authorization code', async (t) => {
  const grant = {
    codeId: 'c1', codeHash: 'ch', clientId: 'a1', redirectUri: 'https://x/cb', userId, accountId, scope: [], codeChallenge: null, codeChallengeMethod: null, credentialsVersion: 0,
  } as const
  const issued: AuthorizationCodeEvent = { type: 'AuthorizationCodeIssued', data: { ...grant, issuedAt: now.toISOString(), expiresAt: at(600_000).toISOString() } }
  const redeem = { type: 'RedeemAuthorizationCode', data: { codeId: 'c1', codeHash: 'ch', familyId: 'f1' } } as const
  t.test('is redeemed once; a replay is recorded', async (t) => {
    given(authorizationCodeDecider, now)([issued]).when(redeem).then(t, [{ type: 'AuthorizationCodeRedeemed', data: { codeId: 'c1', familyId: 'f1', redeemedAt: now.toISOString() } }])
    const redeemed: AuthorizationCodeEvent = { type: 'AuthorizationCodeRedeemed', data: { codeId: 'c1', familyId: 'f1', redeemedAt: now.toISOString() } }
    given(authorizationCodeDecider, now)([issued, redeemed]).when(redeem).then(t, [{ type: 'AuthorizationCodeReplayed', data: { codeId: 'c1', familyId: 'f1', at: now.toISOString() } }])
  })
  t.test('is dead after ten minutes', async (t) => {
    given(authorizationCodeDecider, at(600_000))([issued]).when(redeem).thenNothingHappened(t)
  })
})

t.test('a refresh-token family', async (t) => {
  const spec = given(refreshTokenDecider, now)
  const issued: RefreshTokenEvent = {
    type: 'RefreshTokenIssued',
    data: { familyId: 'f1', clientId: 'a1', userId, accountId, scope: [], credentialsVersion: 0, tokenHash: 'h1', issuedAt: now.toISOString(), expiresAt: at(1e9).toISOString() },
  }
  const rotate = (presentedHash: string, credentialsVersion = 0) =>
    ({ type: 'RotateRefreshToken', data: { familyId: 'f1', presentedHash, newHash: 'h2', clientId: 'a1', credentialsVersion } }) as const
  t.test('rotates the current token', async (t) => {
    spec([issued]).when(rotate('h1')).then(t, [
      { type: 'RefreshTokenRotated', data: { familyId: 'f1', previousHash: 'h1', tokenHash: 'h2', rotatedAt: now.toISOString(), expiresAt: at(30 * 24 * 3600_000).toISOString() } },
    ])
  })
  t.test('revokes the whole family when a rotated token comes back', async (t) => {
    const rotated = refreshTokenDecider.decide(rotate('h1'), fold(refreshTokenDecider, [issued]), now)
    spec([issued, ...rotated]).when(rotate('h1')).then(t, [{ type: 'RefreshTokenFamilyRevoked', data: { familyId: 'f1', reason: 'reuse', revokedAt: now.toISOString() } }])
  })
  t.test('ends when the password changed', async (t) => {
    spec([issued]).when(rotate('h1', 1)).then(t, [{ type: 'RefreshTokenFamilyRevoked', data: { familyId: 'f1', reason: 'credentials_changed', revokedAt: now.toISOString() } }])
  })
  t.test('gives nothing to an unknown token or another client', async (t) => {
    spec([issued]).when(rotate('guess')).thenNothingHappened(t)
    spec([issued]).when({ ...rotate('h1'), data: { ...rotate('h1').data, clientId: 'other' } }).thenNothingHappened(t)
  })
})

t.test('an SSO session', async (t) => {
  const started = ssoSessionDecider.decide({ type: 'StartSsoSession', data: { sessionId: 's', userId, secretHash: 'sh', credentialsVersion: 0 } }, ssoSessionDecider.initialState, now)
  const state = fold(ssoSessionDecider, started)
  t.equal(sessionUser(state, 'sh', () => 0, at(6 * 24 * 3600_000)), userId, 'stands for its user for a week')
  t.equal(sessionUser(state, 'sh', () => 0, at(7 * 24 * 3600_000)), null, 'not longer')
  t.equal(sessionUser(state, 'sh', () => 1, now), null, 'nor after a password change')
  t.equal(sessionUser(state, 'other', () => 0, now), null, 'nor for another secret')
  const ended = fold(ssoSessionDecider, [...started, ...ssoSessionDecider.decide({ type: 'EndSsoSession', data: { sessionId: 's', secretHash: 'sh' } }, state, now)])
  t.equal(sessionUser(ended, 'sh', () => 0, now), null, 'nor after a logout')
})

t.test('login attempts', async (t) => {
  const key = 'pair-k'
  const failed = (minute: number, k = key): LoginAttemptEvent => ({ type: 'LoginFailed', data: { key: k, at: at(minute * 60_000).toISOString() } })
  const fail = { type: 'RecordFailedLogin', data: { key, attemptId: 'a1' } } as const
  const reserve = (attemptId: string, k = key) => ({ type: 'ReserveLoginAttempt', data: { key: k, attemptId } }) as const
  t.test('the fifth failure of a pair within fifteen minutes locks it for fifteen minutes', async (t) => {
    const when = at(10 * 60_000)
    given(loginAttemptsDecider, when)([failed(0), failed(1), failed(2), failed(3)]).when(fail).then(t, [
      { type: 'LoginFailed', data: { key, at: when.toISOString(), attemptId: 'a1' } },
      { type: 'LoginLockedOut', data: { key, at: when.toISOString(), until: new Date(when.getTime() + 15 * 60_000).toISOString() } },
    ])
  })
  t.test('failures older than fifteen minutes do not count', async (t) => {
    const when = at(20 * 60_000)
    given(loginAttemptsDecider, when)([failed(0), failed(1), failed(2), failed(3)]).when(fail).then(t, [{ type: 'LoginFailed', data: { key, at: when.toISOString(), attemptId: 'a1' } }])
  })
  t.test('an attempt is reserved before the check, and reservations in flight count like failures', async (t) => {
    given(loginAttemptsDecider, now)([failed(0)]).when(reserve('a1')).then(t, [{ type: 'LoginAttemptStarted', data: { key, attemptId: 'a1', at: now.toISOString() } }])
    const inFlight = ['b1', 'b2', 'b3', 'b4', 'b5'].map((attemptId): LoginAttemptEvent => ({ type: 'LoginAttemptStarted', data: { key, attemptId, at: now.toISOString() } }))
    given(loginAttemptsDecider, now)(inFlight).when(reserve('b6')).thenNothingHappened(t)
    given(loginAttemptsDecider, now)(inFlight.slice(1)).when(reserve('b6')).then(t, [{ type: 'LoginAttemptStarted', data: { key, attemptId: 'b6', at: now.toISOString() } }])
    const state = fold(loginAttemptsDecider, inFlight)
    t.ok(isReserved(state, 'b1'))
    t.notOk(isReserved(fold(loginAttemptsDecider, [...inFlight, { type: 'LoginSucceeded', data: { key, attemptId: 'b1', at: now.toISOString() } }]), 'b1'), 'an outcome settles it')
  })
  t.test('a success clears the pair and the e-mail, never the address', async (t) => {
    const succeeded = { type: 'RecordSuccessfulLogin', data: { key, attemptId: 'a1' } } as const
    given(loginAttemptsDecider, now)([failed(0)]).when(succeeded).then(t, [{ type: 'LoginSucceeded', data: { key, at: now.toISOString(), attemptId: 'a1' } }])
    given(loginAttemptsDecider, now)([]).when(succeeded).thenNothingHappened(t)
    const success = (k: string): LoginAttemptEvent => ({ type: 'LoginSucceeded', data: { key: k, at: now.toISOString(), attemptId: 'x' } })
    t.same(fold(loginAttemptsDecider, [failed(0, 'email-e'), success('email-e')]).failures, [])
    t.same(fold(loginAttemptsDecider, [failed(0, 'address-1.2.3.4'), success('address-1.2.3.4')]).failures.length, 1)
  })
  t.test('the address locks at 20 failures, the e-mail at 50 within an hour', async (t) => {
    const many = (n: number, k: string, spacingMinutes: number) => Array.from({ length: n }, (_, i) => failed(i * spacingMinutes, k))
    t.same(loginAttemptsDecider.decide({ type: 'RecordFailedLogin', data: { key: 'address-a', attemptId: 'z' } }, fold(loginAttemptsDecider, many(18, 'address-a', 0)), now).map((e) => e.type), ['LoginFailed'])
    t.same(loginAttemptsDecider.decide({ type: 'RecordFailedLogin', data: { key: 'address-a', attemptId: 'z' } }, fold(loginAttemptsDecider, many(19, 'address-a', 0)), now).map((e) => e.type), ['LoginFailed', 'LoginLockedOut'])
    const spreadOverAnHour = fold(loginAttemptsDecider, many(49, 'email-e', 1))
    t.same(loginAttemptsDecider.decide({ type: 'RecordFailedLogin', data: { key: 'email-e', attemptId: 'z' } }, spreadOverAnHour, at(50 * 60_000)).map((e) => e.type), ['LoginFailed', 'LoginLockedOut'])
  })
  t.test('is locked until the lock ends', async (t) => {
    const state = fold(loginAttemptsDecider, [{ type: 'LoginLockedOut', data: { key, at: now.toISOString(), until: at(15 * 60_000).toISOString() } }])
    t.ok(isLockedOut(state, at(14 * 60_000)))
    t.notOk(isLockedOut(state, at(15 * 60_000)))
    given(loginAttemptsDecider, at(60_000))([{ type: 'LoginLockedOut', data: { key, at: now.toISOString(), until: at(15 * 60_000).toISOString() } }]).when(fail).thenNothingHappened(t)
    given(loginAttemptsDecider, at(60_000))([{ type: 'LoginLockedOut', data: { key, at: now.toISOString(), until: at(15 * 60_000).toISOString() } }]).when(reserve('a2')).thenNothingHappened(t)
  })
})

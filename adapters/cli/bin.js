#!/usr/bin/env -S node --max-semi-space-size=64
// The `capsicum` command. The sources are TypeScript, run through tsx's loader.
// Its Node flags (the shebang) are the server's: `npm start` and the Dockerfile repeat them.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('./main.ts')
process.exitCode = await main(process.argv.slice(2))

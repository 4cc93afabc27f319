/**
 * The Node flags the `capsicum` command runs with (its shebang: `env -S node <flags>`),
 * so that a benchmark's Capsicum servers run as `npm start` and the image run them.
 */
import { readFileSync } from 'node:fs'

const shebang = readFileSync(new URL('../adapters/cli/bin.js', import.meta.url), 'utf8').split('\n', 1)[0]!
export const serverNodeFlags: readonly string[] = shebang.split(/\s+/).filter((word) => word.startsWith('--'))

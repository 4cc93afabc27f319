/**
 * PUBLISH parsing (`npm run bench:parser`): the broker's reader of whole PUBLISH packets
 * (adapters/mqtt/publish-parser.ts) against mqtt-packet's parser alone, in the same run,
 * on 500 QoS 1 readings as the ingest benchmark's devices send them, in 4 KB chunks. CPU time
 * a packet, garbage collection included, alternating four rounds of each.
 */
import mqttPacket from 'mqtt-packet'
import type { Client } from 'aedes'
import { parsePublishesDirectly } from '../adapters/mqtt/publish-parser.ts'

const topic = 'v1/298cf83d-5344-8b37-adca-2556a36a1376/things/5e9a1c4e-3d1f-4b7a-9c2e-7f1a2b3c4d5e/data/1'
const packetOf = (i: number): Buffer =>
  mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(`temp,c=${(20 + (i % 100) / 10).toFixed(1)}`), qos: 1, messageId: 1 + i, retain: false, dup: false })
const stream = Buffer.concat(Array.from({ length: 500 }, (_, i) => packetOf(i)))
/** 4 KB pieces, as a socket may cut them: most end inside a packet */
const chunks = Array.from({ length: Math.ceil(stream.length / 4096) }, (_, i) => stream.subarray(i * 4096, (i + 1) * 4096))
const repeats = 2000

function round(direct: boolean): number {
  const parser = mqttPacket.parser()
  let packets = 0
  parser.on('packet', () => packets++)
  // the patch reads the connection's parser only
  if (direct) parsePublishesDirectly({ _parser: parser } as unknown as Client, 1 << 20)
  const before = process.cpuUsage()
  for (let r = 0; r < repeats; r++) for (const chunk of chunks) parser.parse(chunk)
  const used = process.cpuUsage(before)
  return ((used.user + used.system) * 1000) / packets
}

const times = { 'mqtt-packet': [] as number[], direct: [] as number[] }
for (let i = 0; i < 4; i++) {
  times['mqtt-packet'].push(round(false))
  times.direct.push(round(true))
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
for (const [name, values] of Object.entries(times)) process.stdout.write(`${name.padEnd(12)} ${median(values).toFixed(0).padStart(6)} ns a packet   rounds ${values.map((v) => v.toFixed(0)).join(', ')}\n`)
process.stdout.write(`direct reading takes ${(median(times.direct) / median(times['mqtt-packet'])).toFixed(2)}× the CPU of mqtt-packet's parser\n`)

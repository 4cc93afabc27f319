/**
 * Scrapes a server's /metrics and parses the Prometheus text format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format)
 * strictly: every line must be a `# HELP`, a `# TYPE`, another comment, or a sample of a
 * family whose TYPE came first; label values are unescaped; any other line throws.
 * (parse-prometheus-text-format was tried first: it drops the labels of histograms.)
 */

export interface Sample {
  /** the sample's own name (`x_bucket`, `x_sum`, `x_count` in a histogram) */
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  readonly samples: readonly Sample[]
}

const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const helpLine = new RegExp(`^# HELP (${metricName}) (.*)$`)
const typeLine = new RegExp(`^# TYPE (${metricName}) (counter|gauge|histogram|summary|untyped)$`)
const sampleLine = new RegExp(`^(${metricName})(?:\\{(.*)\\})? ([^ ]+)(?: (-?\\d+))?$`)
const labelPair = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/

/** Values as Go's strconv.ParseFloat reads them (Prometheus' own parser): Inf and NaN in any case. */
function parseValue(text: string, line: string): number {
  const lower = text.toLowerCase()
  if (lower === '+inf' || lower === 'inf') return Infinity
  if (lower === '-inf') return -Infinity
  if (lower === 'nan') return NaN
  const value = Number(text)
  if (text.trim() === '' || Number.isNaN(value)) throw new Error(`not a sample value: ${line}`)
  return value
}

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  let rest = text ?? ''
  while (rest.trim() !== '') {
    const match = labelPair.exec(rest)
    if (!match) throw new Error(`bad labels: ${line}`)
    if (match[1]! in labels) throw new Error(`label ${match[1]} twice: ${line}`)
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    rest = rest.slice(match[0].length)
  }
  return labels
}

export function parsePrometheusText(text: string): Family[] {
  const families = new Map<string, { name: string; help: string; type: Family['type']; samples: Sample[] }>()
  const familyOf = (sample: string): { samples: Sample[]; type: Family['type'] } | undefined => {
    const exact = families.get(sample)
    if (exact) return exact
    const base = /^(.*)_(bucket|sum|count)$/.exec(sample)
    const family = base ? families.get(base[1]!) : undefined
    return family && (family.type === 'histogram' || family.type === 'summary') ? family : undefined
  }
  for (const line of text.split('\n')) {
    if (line === '') continue
    let match: RegExpExecArray | null
    if ((match = helpLine.exec(line))) {
      const family = families.get(match[1]!) ?? { name: match[1]!, help: '', type: 'untyped' as const, samples: [] }
      family.help = match[2]!
      families.set(match[1]!, family)
    } else if ((match = typeLine.exec(line))) {
      const family = families.get(match[1]!) ?? { name: match[1]!, help: '', type: 'untyped' as const, samples: [] }
      if (family.samples.length > 0) throw new Error(`TYPE after samples: ${line}`)
      family.type = match[2] as Family['type']
      families.set(match[1]!, family)
    } else if (line.startsWith('#')) {
      continue
    } else if ((match = sampleLine.exec(line))) {
      const family = familyOf(match[1]!)
      if (!family) throw new Error(`a sample of no declared family: ${line}`)
      family.samples.push({ name: match[1]!, labels: parseLabels(match[2], line), value: parseValue(match[3]!, line) })
    } else {
      throw new Error(`not the Prometheus text format: ${JSON.stringify(line)}`)
    }
  }
  return [...families.values()]
}

const matches = (sample: Sample, labels: Record<string, string>): boolean => Object.entries(labels).every(([k, v]) => sample.labels[k] === v)

export class Scrape {
  constructor(readonly families: readonly Family[]) {}

  family(name: string): Family | undefined {
    return this.families.find((f) => f.name === name)
  }

  /** A counter's or gauge's value (0 when no series matches yet), or a histogram's `_count`. */
  value(name: string, labels: Record<string, string> = {}): number {
    const family = this.family(name)
    const own = family?.type === 'histogram' || family?.type === 'summary' ? `${name}_count` : name
    return family?.samples.find((s) => s.name === own && matches(s, labels))?.value ?? 0
  }

  /** A histogram's `_sum`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.family(name)?.samples.find((s) => s.name === `${name}_sum` && matches(s, labels))?.value ?? 0
  }

  /** A histogram's buckets: upper bound → cumulative count. */
  buckets(name: string, labels: Record<string, string> = {}): Map<string, number> {
    const samples = this.family(name)?.samples.filter((s) => s.name === `${name}_bucket` && matches(s, labels)) ?? []
    return new Map(samples.map((s) => [s.labels.le!, s.value]))
  }

  /** Sum of a counter or gauge over every series matching `labels`. */
  total(name: string, labels: Record<string, string> = {}): number {
    return (this.family(name)?.samples ?? []).filter((s) => s.name === name && matches(s, labels)).reduce((sum, s) => sum + s.value, 0)
  }

  /** The values of one label across a family's series. */
  labelValues(name: string, label: string): Set<string> {
    return new Set((this.family(name)?.samples ?? []).map((s) => s.labels[label]).filter((v): v is string => v !== undefined))
  }
}

export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(url, { headers })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text}`)
  if (!/^text\/plain; version=0\.0\.4/.test(res.headers.get('content-type') ?? '')) throw new Error(`not the Prometheus text format: ${res.headers.get('content-type')}`)
  return new Scrape(parsePrometheusText(text))
}

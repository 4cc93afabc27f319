/**
 * A channel's history drawn with uPlot: raw readings for the last hour, buckets (in the
 * browser's time zone) for a day, week, month or year. `marks` (a rule's what-if) are
 * drawn as red points on the same axes and listed under the chart for screen readers.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'
import { get, type ChannelHistory, type Reading } from './api.ts'
import { browserTimeZone, dateTime, valueText } from './format.ts'

export const ranges = {
  hour: { label: 'Last hour', ms: 3600_000, interval: null },
  day: { label: 'Day', ms: 24 * 3600_000, interval: 'hour' },
  week: { label: 'Week', ms: 7 * 24 * 3600_000, interval: 'hour' },
  month: { label: 'Month', ms: 30 * 24 * 3600_000, interval: 'day' },
  year: { label: 'Year', ms: 365 * 24 * 3600_000, interval: 'month' },
} as const
export type RangeName = keyof typeof ranges

export interface Mark {
  readonly at: string
  readonly value: unknown
}

const numberOf = (value: unknown): number | null => {
  const first = Array.isArray(value) ? value[0] : value
  return typeof first === 'number' && Number.isFinite(first) ? first : null
}

interface ChartProps {
  readonly thingId: string
  readonly channel: string
  readonly title: string
  readonly initialRange?: RangeName
  readonly marks?: readonly Mark[]
  /** the newest live reading of this channel: added to the raw chart as it comes */
  readonly latest?: Reading | undefined
}

export function Chart({ thingId, channel, title, initialRange = 'hour', marks = [], latest }: ChartProps) {
  const [range, setRange] = useState<RangeName>(initialRange)
  const [points, setPoints] = useState<[number, number | null][] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const holder = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)

  useEffect(() => {
    let current = true
    const { ms, interval } = ranges[range]
    const query = new URLSearchParams({ from: new Date(Date.now() - ms).toISOString(), to: new Date(Date.now() + 60_000).toISOString() })
    if (interval) {
      query.set('interval', interval)
      query.set('tz', browserTimeZone())
    }
    get<ChannelHistory>(`/v1.1/things/${thingId}/data/${encodeURIComponent(channel)}?${query}`).then(
      (history) => current && setPoints(history.points.map((p) => [Date.parse(p.timestamp) / 1000, numberOf(p.value)])),
      (failure: Error) => current && setError(failure.message),
    )
    return () => {
      current = false
    }
  }, [thingId, channel, range])

  useEffect(() => {
    if (!latest || range !== 'hour' || latest.channel !== channel) return
    setPoints((old) => (old ? [...old, [Date.parse(latest.timestamp) / 1000, numberOf(latest.value)]] : old))
  }, [latest, range, channel])

  useEffect(() => {
    if (!holder.current || !points) return
    // One x axis for readings and marks: marks sit at their own times, null elsewhere.
    const byTime = new Map<number, [number | null, number | null]>()
    for (const [x, y] of points) byTime.set(x, [y, byTime.get(x)?.[1] ?? null])
    for (const mark of marks) {
      const x = Date.parse(mark.at) / 1000
      byTime.set(x, [byTime.get(x)?.[0] ?? null, numberOf(mark.value)])
    }
    const xs = [...byTime.keys()].sort((a, b) => a - b)
    const data: uPlot.AlignedData = [xs, xs.map((x) => byTime.get(x)![0]), xs.map((x) => byTime.get(x)![1])]
    const width = Math.max(260, holder.current.clientWidth)
    plot.current?.destroy()
    plot.current = new uPlot(
      {
        width,
        height: 220,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        series: [
          {},
          { label: title, stroke: '#1f5fa8', width: 2, spanGaps: true, points: { show: points.length < 60, size: 5 } },
          { label: 'would fire', stroke: '#b3261e', paths: () => null, points: { show: true, size: 11, width: 2, fill: '#b3261e', stroke: '#5c0f0b' } },
        ],
        axes: [{ stroke: '#333' }, { stroke: '#333', size: 56 }],
      },
      data,
      holder.current,
    )
  }, [points, marks, title])

  useEffect(() => {
    const element = holder.current
    if (!element) return
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(260, element.clientWidth), height: 220 }))
    resize.observe(element)
    return () => {
      resize.disconnect()
      plot.current?.destroy()
      plot.current = null
    }
  }, [])

  const legendId = `chart-${thingId}-${channel}`
  return (
    <figure class="chart" aria-labelledby={legendId} data-points={points?.length ?? 0} data-marks={marks.length}>
      <figcaption id={legendId}>
        {title}
        <span class="ranges" role="group" aria-label={`Time range of ${title}`}>
          {(Object.keys(ranges) as RangeName[]).map((name) => (
            <button type="button" aria-pressed={name === range} onClick={() => setRange(name)}>
              {ranges[name].label}
            </button>
          ))}
        </span>
      </figcaption>
      {error ? <p class="error" role="alert">{error}</p> : null}
      <div ref={holder} class="plot" aria-hidden="true" />
      {points && points.length === 0 ? <p class="muted">No readings in this range.</p> : null}
      {marks.length > 0 ? (
        <details class="marks">
          <summary>{marks.length} {marks.length === 1 ? 'point' : 'points'} where the rule would have fired</summary>
          <ul>
            {marks.map((mark) => (
              <li>
                {dateTime(mark.at)}: {valueText(mark.value)}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </figure>
  )
}

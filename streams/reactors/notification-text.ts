/**
 * The words of a rule's or job's notification (handlebars views beside this file):
 * subject, plain text, HTML and SMS. A rule's own `body` is data, never a template: it is
 * inserted as text, and escaped in the HTML.
 */
import { readFileSync } from 'node:fs'
import Handlebars from 'handlebars'
import type { MessageRequest } from '../../domain/delivery/delivery.ts'

const view = (name: string, options: { noEscape?: boolean } = {}) =>
  Handlebars.compile(readFileSync(new URL(`./views/${name}`, import.meta.url), 'utf8'), options)
const subject = view('notification.subject.hbs', { noEscape: true })
const text = view('notification.txt.hbs', { noEscape: true })
const html = view('notification.html.hbs')
const sms = view('notification.sms.hbs', { noEscape: true })

/** 2026-03-08T10:00:00.000Z → 2026-03-08 10:00:00 UTC */
function readableTime(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/.exec(iso)
  return match ? `${match[1]} ${match[2]} UTC` : iso
}

function dataOf(message: MessageRequest) {
  const { facts } = message
  return {
    source: facts.source === 'rule' ? 'Rule' : 'Job',
    rule: facts.source === 'rule',
    title: facts.title,
    time: readableTime(facts.time),
    body: message.body,
    items: facts.items,
    first: facts.items[0],
  }
}

export function emailOf(message: MessageRequest): { subject: string; text: string; html: string } {
  const data = dataOf(message)
  return { subject: subject(data).trim().replace(/\s*[\r\n]+\s*/g, ' '), text: text(data), html: html(data) }
}

export function smsOf(message: MessageRequest): string {
  return sms(dataOf(message)).trim()
}

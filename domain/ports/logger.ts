/**
 * The logger the core's runners are given (projections, reactors, the scheduler, the MQTT
 * bridge, the telemetry processor, leader election): pino's call shape, the fields first,
 * then the message. adapters/logger.ts makes the pino logger that fills it.
 */
export interface Logger {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
}

/**
 * What the MQTT broker offers the rest of the server: publishing to devices (commands).
 * Implemented by the broker adapter (adapters/mqtt); reactors depend on this port only.
 */
export interface DevicePublisher {
  /** resolves once the broker has taken the message (queued for offline QoS 1 sessions) */
  publish(topic: string, payload: string, options: { readonly qos: 0 | 1; readonly retain: boolean }): Promise<void>
}

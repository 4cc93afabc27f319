/**
 * Whether a value comes back from its JSON text as it went in: `JSON.parse(JSON.stringify(value))`
 * deep-equals it. True for null, booleans, strings, finite numbers other than -0, and arrays
 * and plain objects of those. False for `undefined` (left out, or null in an array), a `Date`
 * or anything else with `toJSON` (its text instead), NaN and ±Infinity (null), -0 (0), a
 * class instance or an object without a prototype (a plain object), a function or a symbol
 * (left out), a hole in an array (null). Symbol keys and properties that are not enumerable
 * are not looked at: no event's data has them.
 *
 * A follower can then be handed the value an append was given instead of the parse of its
 * text: the same thing, without the parse (about 0.7 µs a reading of a batch event).
 */
export function isJsonFaithful(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0)
    case 'object': {
      if (value === null) return true
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isJsonFaithful(value[i])) return false
        }
        return true
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false
      const object = value as Record<string, unknown>
      if (typeof object.toJSON === 'function') return false
      for (const key in object) {
        if (!isJsonFaithful(object[key])) return false
      }
      return true
    }
    default:
      return false
  }
}

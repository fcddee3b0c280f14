// Small statistics for benchmark samples.

/** The median of a list of numbers (the mean of the two middle ones for an even count). */
export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Smallest and largest of a list. */
export function range(values) {
  const finite = values.filter((v) => Number.isFinite(v))
  return finite.length === 0 ? [NaN, NaN] : [Math.min(...finite), Math.max(...finite)]
}

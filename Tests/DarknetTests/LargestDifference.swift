/// The largest |a − b| over two runs of floats; a NaN on either side counts as infinite, where
/// `max()` would pass over it (outputs a kernel never wrote are NaN in these tests).
func largestDifference<A: Sequence<Float>, B: Sequence<Float>>(_ a: A, _ b: B) -> Float {
    zip(a, b).map { abs($0 - $1) }.map { $0.isNaN ? .infinity : $0 }.max() ?? 0
}

import COpenBLAS

/// The OpenBLAS this process runs with: benchmarks print its core and thread count.
public enum BLAS {
    /// The kernel OpenBLAS chose (or `OPENBLAS_CORETYPE` forced), e.g. "Cooperlake".
    public static var coreName: String { String(cString: openblas_get_corename()) }

    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}

import XCTest
@_spi(CLI) @testable import Darknet

final class TextTests: XCTestCase {
    func testPrintfFormatsNumbersAsC() {
        XCTAssertEqual(String(printf: "%9.3f|%03d|%.1f%%", 3.14159, 7, 99.95), "    3.142|007|100.0%")
        XCTAssertEqual(String(printf: "%d images in %.2f s", 12, 0.5), "12 images in 0.50 s")
        // Longer than any fixed buffer: the length is measured first.
        XCTAssertEqual(String(printf: "%0500d", 1), String(repeating: "0", count: 499) + "1")
        XCTAssertEqual(String(printf: ""), "")
    }

    func testTrimmingWhitespaceTakesBothEndsOnly() {
        XCTAssertEqual(" \t cat dog \r\n".trimmingWhitespace, "cat dog")
        XCTAssertEqual("bare".trimmingWhitespace, "bare")
        XCTAssertEqual(" \n\t ".trimmingWhitespace, "")
        XCTAssertEqual("".trimmingWhitespace, "")
        XCTAssertEqual("x".trimmingWhitespace, "x")
        XCTAssertEqual("ab  \u{3000}"[...].trimmingWhitespace, "ab") // a substring, and Unicode's ideographic space
    }
}

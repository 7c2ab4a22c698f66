using System.Text;

namespace Pipeline.Models.Tokenizers;

/// <summary>UTF-8 decoding that replaces each maximal invalid subsequence with one U+FFFD, as Rust's from_utf8_lossy does.</summary>
internal static class Utf8Lossy
{
    // .NET's decoder follows the same WHATWG/Unicode "maximal subpart" replacement rule as Rust.
    private static readonly UTF8Encoding Lossy = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    public static string Decode(ReadOnlySpan<byte> bytes) => Lossy.GetString(bytes);

    public static bool IsValid(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);
}

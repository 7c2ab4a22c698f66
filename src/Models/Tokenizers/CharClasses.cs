using System.Globalization;
using System.Text;

namespace Pipeline.Models.Tokenizers;

/// <summary>The character predicates the Rust tokenizers library uses, over code points.</summary>
internal static class CharClasses
{
    public static bool IsWhitespace(Rune r) => Rune.IsWhiteSpace(r);

    public static bool IsPunctuation(Rune r)
    {
        if (r.IsAscii) return char.IsAsciiLetterOrDigit((char)r.Value) is false && r.Value is > 32 and < 127;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    public static bool IsNumeric(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.DecimalDigitNumber
        or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    /// <summary>Oniguruma's \w: alphabetic, marks, decimal digits, connector punctuation.</summary>
    public static bool IsWord(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter
        or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
        or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber
        or UnicodeCategory.ConnectorPunctuation || r.Value is 0x200C or 0x200D;

    public static bool IsControl(Rune r)
    {
        // BERT treats \t \n \r as whitespace, not control.
        if (r.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    public static bool IsChineseChar(int cp) => cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF
        or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F
        or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}

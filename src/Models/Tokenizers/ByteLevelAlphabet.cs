namespace Pipeline.Models.Tokenizers;

/// <summary>GPT-2's reversible map between bytes and printable characters.</summary>
internal static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = BuildForward();
    private static readonly short[] CharToByteTable = BuildReverse();

    /// <summary>The byte a character stands for, or -1 when it is not part of the alphabet.</summary>
    public static int CharToByte(char c) => c < CharToByteTable.Length ? CharToByteTable[c] : -1;

    private static char[] BuildForward()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static short[] BuildReverse()
    {
        var rev = new short[324];
        Array.Fill(rev, (short)-1);
        for (int b = 0; b < 256; b++) rev[ByteToChar[b]] = (short)b;
        return rev;
    }
}

namespace Pipeline.Host.Commands;

/// <summary>What the CLI needs of a tokenizer.</summary>
public interface ITextTokenizer
{
    int[] Encode(string text, bool addSpecialTokens = true);
    string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = true);
    int? EosTokenId { get; }
}

public static class TextTokenizer
{
    public static bool HasFiles(string dir) => File.Exists(Path.Combine(dir, "tokenizer.json"));

    public static ITextTokenizer Load(string dir) =>
        throw new NotSupportedException($"Tokenizer loading is not available in this build ({dir}); use --prompt-ids or --skip-tokenizer-init.");
}

namespace Pipeline.Models.Tokenizers;

/// <summary>
/// Tokenizer classes shipped as remote code (trust_remote_code) that read a *.tiktoken vocabulary with a pattern and
/// special tokens written in their Python file rather than in tokenizer_config.json: Hunyuan's HYTokenizer
/// (hy.tiktoken) and Qwen 1's QWenTokenizer (qwen.tiktoken). Both NFC-normalize the text, split digits one by one and
/// number their special tokens right after the ranks; special tokens are matched in text (allowed_special="all").
/// </summary>
internal sealed record RemoteTiktokenTokenizer(string Name, string Pattern, IReadOnlyList<string> SpecialTokens)
{
    const string SingleDigitPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static readonly string[] Extras = [.. Enumerable.Range(0, 205).Select(i => $"<|extra_{i}|>")];

    public static readonly RemoteTiktokenTokenizer Hunyuan = new("HYTokenizer", SingleDigitPattern,
        ["<|endoftext|>", "<|startoftext|>", "<|bos|>", "<|eos|>", "<|pad|>", .. Extras]);

    public static readonly RemoteTiktokenTokenizer Qwen = new("QWenTokenizer", SingleDigitPattern,
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", .. Extras]);

    /// <summary>The remote tokenizer a checkpoint names (tokenizer_class) or whose vocabulary file it ships; null for others.</summary>
    public static RemoteTiktokenTokenizer? For(string? tokenizerClass, string fileName) => (tokenizerClass, fileName) switch
    {
        ("HYTokenizer", _) or (null, "hy.tiktoken") => Hunyuan,
        ("QWenTokenizer", _) or (null, "qwen.tiktoken") => Qwen,
        _ => null,
    };
}

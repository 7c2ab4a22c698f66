using Microsoft.ML.Tokenizers;

namespace Pipeline.Models.Tokenizers;

/// <summary>
/// A tiktoken vocabulary (lines of "base64(token bytes) rank", as *.tiktoken files and Llama 3's original
/// tokenizer.model) run by Microsoft.ML.Tokenizers' TiktokenTokenizer with the model's pre-tokenizer regex. Tokens are
/// named by their bytes in GPT-2's byte-level alphabet, as transformers' TikTokenConverter names them, so the byte-level
/// decoder turns them back into text.
/// </summary>
internal sealed class TiktokenModel : ITokenizerModel
{
    /// <summary>Llama 3's pattern (cl100k's, without possessive quantifiers), used when tokenizer_config.json has no "pat_str".</summary>
    public const string DefaultPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    readonly TiktokenTokenizer _tiktoken;
    readonly Vocabulary _vocab;

    TiktokenModel(TiktokenTokenizer tiktoken, Dictionary<string, int> names)
    {
        _tiktoken = tiktoken;
        _vocab = new Vocabulary(names);
    }

    /// <summary>Each rank's bytes named in the byte-level alphabet.</summary>
    static Dictionary<string, int> ReadNames(string path)
    {
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path))
        {
            int space = line.IndexOf(' ');
            if (space <= 0) continue;
            var bytes = Convert.FromBase64String(line[..space]);
            names[string.Create(bytes.Length, bytes, (span, b) => { for (int i = 0; i < span.Length; i++) span[i] = ByteLevelAlphabet.ByteToChar[b[i]]; })] = int.Parse(line.AsSpan(space + 1));
        }
        return names;
    }

    public static TiktokenModel Load(string path, string? pattern)
    {
        try
        {
            var regex = new System.Text.RegularExpressions.Regex(OnigurumaRegex.Translate(pattern ?? DefaultPattern), System.Text.RegularExpressions.RegexOptions.Compiled);
            using var stream = File.OpenRead(path);
            return new TiktokenModel(TiktokenTokenizer.Create(stream, new RegexPreTokenizer(regex, null), normalizer: null, specialTokens: null), ReadNames(path));
        }
        catch (Exception e) when (e is not IOException and not UnauthorizedAccessException)
        {
            throw new TokenizerLoadException(path, $"not a tiktoken vocabulary Microsoft.ML.Tokenizers can read: {e.Message}", e);
        }
    }

    /// <summary>Whether a file is a tiktoken vocabulary (its first line is "base64 rank") rather than a SentencePiece proto.</summary>
    public static bool IsTiktokenFile(string path)
    {
        using var reader = new StreamReader(path);
        var buffer = new char[256];
        int n = reader.ReadBlock(buffer, 0, buffer.Length);
        var first = new string(buffer, 0, n).Split('\n')[0].TrimEnd('\r');
        int space = first.IndexOf(' ');
        return space > 0 && int.TryParse(first.AsSpan(space + 1), out _) && first[..space].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=');
    }

    public void Tokenize(string word, List<int> ids) => ids.AddRange(_tiktoken.EncodeToIds(word));

    public string? IdToToken(int id) => _vocab.Token(id);

    public int? TokenToId(string token) => _vocab.Id(token);

    public IEnumerable<KeyValuePair<string, int>> Vocab => _vocab.Entries;
}

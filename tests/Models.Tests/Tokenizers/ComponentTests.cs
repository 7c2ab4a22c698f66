using System.Text.RegularExpressions;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Tests.Tokenizers;

public sealed class ComponentTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "pipeline-tokc-" + Guid.NewGuid().ToString("N"));

    public ComponentTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(@"a++b", @"(?>a+)b")]
    [InlineData(@"\p{L}*+x", @"(?>\p{L}*)x")]
    [InlineData(@"(ab)++", @"(?>(ab)+)")]
    [InlineData(@"[a-z]{2,3}+", @"(?>[a-z]{2,3})")]
    [InlineData(@"\x{41}\x{1F600}", @"\u0041\uD83D\uDE00")]
    [InlineData(@"a{,x}", @"a\{,x}")]
    public void OnigurumaSyntaxIsTranslated(string onig, string dotnet)
    {
        string translated = OnigurumaRegex.Translate(onig);
        Assert.Equal(dotnet, translated);
        _ = new Regex(translated);
    }

    [Fact]
    public void ScriptPropertiesAndNestedClassesWork()
    {
        var han = OnigurumaRegex.Compile(@"\p{Han}+|[\p{Hiragana}\p{Katakana}]+|[[a-c]x]+");
        var matches = new List<(int, int)>();
        OnigurumaRegex.Matches(han, "漢字ひらカタabxq", matches);
        Assert.Equal([(0, 2), (2, 4), (6, 3)], matches);
    }

    [Fact]
    public void SupplementaryLettersMatchLetterClassesAsOneCodePoint()
    {
        var re = OnigurumaRegex.Compile(@"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}");
        var matches = new List<(int Start, int Length)>();
        OnigurumaRegex.Matches(re, "😀abc 𝐀𝐁 𝟏𝟐𝟑𝟒", matches);
        var s = "😀abc 𝐀𝐁 𝟏𝟐𝟑𝟒";
        Assert.Equal(["😀abc", " 𝐀𝐁", "𝟏𝟐𝟑", "𝟒"], matches.Select(m => s.Substring(m.Start, m.Length)));
    }

    [Fact]
    public void WordLevelModelWithWhitespaceSplitLoadsAndEncodes()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), """
        {"normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "WhitespaceSplit"},
         "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "world": 2}, "unk_token": "[UNK]"},
         "decoder": null, "added_tokens": []}
        """);
        var tok = HfTokenizer.Load(_dir);
        Assert.Equal([1, 0, 2], tok.Encode("Hello  there\tWORLD"));
        Assert.Equal("hello [UNK] world", tok.Decode([1, 0, 2]));
        Assert.Equal(3, tok.VocabSize);
    }

    [Fact]
    public void ConcurrentEncodingGivesTheSameIds()
    {
        var tok = HfTokenizer.Load(Fixtures.Dir("qwen2_5"));
        var texts = Fixtures.File("qwen2_5").Cases.Select(c => c.Text).ToArray();
        var expected = Fixtures.File("qwen2_5").Cases.Select(c => c.IdsWithoutSpecial).ToArray();
        Parallel.For(0, 400, i =>
        {
            int k = i % texts.Length;
            Assert.Equal(expected[k], tok.Encode(texts[k], addSpecialTokens: false));
        });
    }
}

public class NormalizerTests
{
    [Theory]
    [InlineData("İstanbul ÀB", "i\u0307stanbul àb")]
    [InlineData("ΣΑΣ", "σασ")]
    public void LowercaseFollowsRustCharMapping(string input, string expected) =>
        Assert.Equal(expected, new LowercaseNormalizer().Normalize(input));

    [Fact]
    public void BertNormalizerCleansPadsChineseStripsAccentsAndLowercases() =>
        // NUL and zero-width space (Cf) are dropped, tab becomes a space, CJK is padded, the accent is stripped.
        Assert.Equal("hello 中  wo rld cafe", new BertNormalizer(true, true, null, true).Normalize("Hello\u0000中\two RLD\u200b cafe\u0301"));

    [Fact]
    public void PrependSkipsEmptyText()
    {
        Assert.Equal("", new PrependNormalizer("▁").Normalize(""));
        Assert.Equal("▁a", new PrependNormalizer("▁").Normalize("a"));
    }
}

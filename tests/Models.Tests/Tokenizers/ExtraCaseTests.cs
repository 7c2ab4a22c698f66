using System.Text.Json;

namespace Pipeline.Models.Tests.Tokenizers;

/// <summary>
/// Edge cases recorded with transformers (scripts/fixtures/make_extra_tokenizer_cases.py): supplementary-plane
/// letters and digits, emoji next to letters, long words and whitespace runs.
/// </summary>
public class ExtraCaseTests
{
    private static readonly Lazy<Dictionary<string, List<FixtureCase>>> Data = new(() =>
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers-extra", "expected.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(c => new FixtureCase(
            c.GetProperty("text").GetString()!,
            c.GetProperty("ids_with_special").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            c.GetProperty("ids_without_special").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            c.GetProperty("decode").GetString()!,
            c.GetProperty("decode_with_special").GetString()!,
            c.GetProperty("decode_skip_special").GetString()!)).ToList());
    });

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var (name, cases) in Data.Value)
            for (int i = 0; i < cases.Count; i++) data.Add(name, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeAndDecodeMatchTransformers(string name, int index)
    {
        var c = Data.Value[name][index];
        var tok = Fixtures.Tokenizer(name);
        Assert.Equal(c.IdsWithSpecial, tok.Encode(c.Text));
        Assert.Equal(c.IdsWithoutSpecial, tok.Encode(c.Text, addSpecialTokens: false));
        Assert.Equal(c.Decode, tok.Decode(c.IdsWithoutSpecial));
        Assert.Equal(c.DecodeWithSpecial, tok.Decode(c.IdsWithSpecial));
        Assert.Equal(c.DecodeSkipSpecial, tok.Decode(c.IdsWithSpecial, skipSpecialTokens: true));
    }
}

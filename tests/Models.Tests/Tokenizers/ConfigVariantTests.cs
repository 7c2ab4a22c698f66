using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Tests.Tokenizers;

/// <summary>
/// Real tokenizers under tokenizer_config.json variants (legacy=false, add_prefix_space, add_bos/eos_token), recorded
/// with transformers (scripts/fixtures/make_config_variant_cases.py).
/// </summary>
public class ConfigVariantTests
{
    private static readonly Lazy<Dictionary<string, (string Base, JsonObject Patch, List<FixtureCase> Cases)>> Data = new(() =>
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers-extra", "config_variants.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        return root.ToDictionary(p => p.Key, p => (p.Value!["base"]!.GetValue<string>(), p.Value!["config_patch"]!.AsObject(), p.Value!["cases"]!.AsArray().Select(c => new FixtureCase(
            c!["text"]!.GetValue<string>(),
            c["ids_with_special"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray(),
            c["ids_without_special"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray(),
            c["decode"]!.GetValue<string>(),
            c["decode_with_special"]!.GetValue<string>(),
            c["decode_skip_special"]!.GetValue<string>())).ToList()));
    });

    private static readonly Dictionary<string, HfTokenizer> Tokenizers = [];

    private static HfTokenizer Tokenizer(string variant)
    {
        lock (Tokenizers)
        {
            if (Tokenizers.TryGetValue(variant, out var t)) return t;
            string dir = Path.Combine(Path.GetTempPath(), $"pipeline-{variant}-{Guid.NewGuid():N}");
            string baseDir = Fixtures.Dir(Data.Value[variant].Base);
            Directory.CreateDirectory(dir);
            try
            {
                File.Copy(Path.Combine(baseDir, "tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
                var config = JsonNode.Parse(File.ReadAllText(Path.Combine(baseDir, "tokenizer_config.json")))!.AsObject();
                foreach (var (k, v) in Data.Value[variant].Patch) config[k] = v?.DeepClone();
                File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
                t = HfTokenizer.Load(dir);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
            Tokenizers[variant] = t;
            return t;
        }
    }

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var (name, v) in Data.Value)
            for (int i = 0; i < v.Cases.Count; i++) data.Add(name, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeAndDecodeMatchTransformers(string variant, int index)
    {
        var c = Data.Value[variant].Cases[index];
        var tok = Tokenizer(variant);
        Assert.Equal(c.IdsWithSpecial, tok.Encode(c.Text));
        Assert.Equal(c.IdsWithoutSpecial, tok.Encode(c.Text, addSpecialTokens: false));
        Assert.Equal(c.Decode, tok.Decode(c.IdsWithoutSpecial));
        Assert.Equal(c.DecodeWithSpecial, tok.Decode(c.IdsWithSpecial));
        Assert.Equal(c.DecodeSkipSpecial, tok.Decode(c.IdsWithSpecial, skipSpecialTokens: true));
    }
}

using System.Text.Json;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Tests.Tokenizers;

public sealed class LoadingAndErrorTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "pipeline-tok-" + Guid.NewGuid().ToString("N"));

    public LoadingAndErrorTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void UnknownIdInDecodeNamesTheId()
    {
        var tok = Fixtures.Tokenizer("gpt2");
        var ex = Assert.Throws<ArgumentException>(() => tok.Decode([15496, 999_999]));
        Assert.Contains("999999", ex.Message);
    }

    [Fact]
    public void MalformedJsonNamesTheFile()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), "{ \"model\": ");
        var ex = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(_dir));
        Assert.EndsWith("tokenizer.json", ex.File);
        Assert.Contains("tokenizer.json", ex.Message);
        Assert.Contains("invalid JSON", ex.Message);
    }

    [Fact]
    public void UnsupportedModelTypeIsNamed()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), """{"model": {"type": "WordLevelX", "vocab": {}}}""");
        var ex = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(_dir));
        Assert.Contains("unsupported model type \"WordLevelX\"", ex.Message);
    }

    [Fact]
    public void MissingVocabIsNamed()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), """{"model": {"type": "BPE", "merges": []}}""");
        var ex = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(_dir));
        Assert.Contains("missing \"model.vocab\"", ex.Message);
    }

    [Fact]
    public void UnsupportedComponentIsNamed()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"),
            """{"normalizer": {"type": "Precompiled", "precompiled_charsmap": ""}, "model": {"type": "BPE", "vocab": {}, "merges": []}}""");
        var ex = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(_dir));
        Assert.Contains("unsupported normalizer type \"Precompiled\"", ex.Message);
    }

    [Fact]
    public void CorruptSentencePieceModelNamesTheFile()
    {
        File.WriteAllBytes(Path.Combine(_dir, "tokenizer.model"), [0, 1, 2]);
        var ex = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(_dir));
        Assert.Contains("tokenizer.model", ex.Message);
        Assert.Contains("not a SentencePiece model", ex.Message);
    }

    [Theory]
    [InlineData("qwen2_5")]
    [InlineData("llama2")]
    public void DirectoryWithOnlyTokenizerFilesLoads(string name)
    {
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(Fixtures.Dir(name), f), Path.Combine(_dir, f));
        var tok = HfTokenizer.Load(_dir);
        var c = Fixtures.Case(name, 0);
        Assert.Equal(c.IdsWithSpecial, tok.Encode(c.Text));
        Assert.NotNull(tok.ModelMaxLength is null ? "unlimited" : tok.ModelMaxLength.ToString());
    }

    [Fact]
    public void Gpt2VocabAndMergesFilesLoadAsByteLevelBpe()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Dir("gpt2"), "tokenizer.json")));
        var model = doc.RootElement.GetProperty("model");
        File.WriteAllText(Path.Combine(_dir, "vocab.json"), model.GetProperty("vocab").GetRawText());
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! : $"{m[0].GetString()} {m[1].GetString()}");
        File.WriteAllLines(Path.Combine(_dir, "merges.txt"), new[] { "#version: 0.2" }.Concat(merges));
        var tok = HfTokenizer.Load(_dir);
        foreach (var c in Fixtures.File("gpt2").Cases.Where(c => !c.Text.Contains("<|endoftext|>")))
        {
            Assert.Equal(c.IdsWithoutSpecial, tok.Encode(c.Text, addSpecialTokens: false));
            Assert.Equal(c.Decode, tok.Decode(c.IdsWithoutSpecial));
        }
    }

    [Fact]
    public void ConfigValuesAreExposed()
    {
        var qwen = Fixtures.Tokenizer("qwen2_5");
        Assert.Equal(131072, qwen.ModelMaxLength);
        Assert.Equal("<|im_end|>", qwen.EosToken);
        Assert.Null(qwen.BosToken);
        Assert.Equal(qwen.TokenToId("<|endoftext|>"), qwen.PadTokenId);
        Assert.NotNull(qwen.ChatTemplate);
        Assert.Equal(qwen.ChatTemplate, qwen.ChatTemplates["default"]);
        Assert.Equal("<|im_start|>", qwen.IdToToken(151644));
        var llama3 = Fixtures.Tokenizer("llama3_1");
        Assert.Null(llama3.ModelMaxLength);
        Assert.Contains(128009, llama3.SpecialTokenIds);
        var gpt2 = Fixtures.Tokenizer("gpt2");
        Assert.Null(gpt2.ChatTemplate);
        Assert.Equal(1024, gpt2.ModelMaxLength);
    }

    [Fact]
    public void ChatTemplateListIsExposedByName()
    {
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), """{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""");
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"),
            """{"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}], "eos_token": {"content": "a"}}""");
        var tok = HfTokenizer.Load(_dir);
        Assert.Equal("D", tok.ChatTemplate);
        Assert.Equal("T", tok.ChatTemplates["tool_use"]);
        Assert.Equal(0, tok.EosTokenId);
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Models.ChatTemplates;

namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>Renders every recorded transformers apply_chat_template case and compares byte for byte.</summary>
public class FixtureTests
{
    private static readonly string[] Tokenizers = ["llama3_1", "qwen2_5", "qwen3"];

    private static string Dir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers", name);

    public static IEnumerable<object[]> Cases()
    {
        foreach (var tok in Tokenizers)
        {
            var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(tok), "chat.json")))!.AsArray();
            for (int i = 0; i < cases.Count; i++)
            {
                var c = cases[i]!;
                yield return [$"{tok}/{c["template"]}/{c["conversation"]}/gen={c["add_generation_prompt"]}#{i}"];
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RendersLikeTransformers(string caseName)
    {
        var tok = caseName[..caseName.IndexOf('/')];
        int index = int.Parse(caseName[(caseName.LastIndexOf('#') + 1)..]);
        var c = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(tok), "chat.json")))!.AsArray()[index]!;
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(tok), "tokenizer_config.json")));

        var ctx = new ChatTemplateContext
        {
            Messages = c["messages"]!.AsArray().ToList(),
            Tools = c["tools"] is JsonArray tools ? tools.ToList() : null,
            AddGenerationPrompt = c["add_generation_prompt"]!.GetValue<bool>(),
            BosToken = ChatTemplateResolver.SpecialToken(config.RootElement, "bos_token"),
            EosToken = ChatTemplateResolver.SpecialToken(config.RootElement, "eos_token"),
        };
        var template = new ChatTemplate(c["chat_template"]!.GetValue<string>());
        if (c["error"] is JsonNode err)
        {
            var ex = Assert.Throws<TemplateException>(() => template.Render(ctx));
            Assert.Contains(err.GetValue<string>(), ex.Message);
            return;
        }
        Assert.Equal(c["rendered"]!.GetValue<string>(), template.Render(ctx));
    }

    [Fact]
    public void OwnTemplatesMatchTokenizerConfig()
    {
        foreach (var tok in Tokenizers)
        {
            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(tok), "tokenizer_config.json")));
            var own = ChatTemplateResolver.FromTokenizerConfig(config.RootElement);
            Assert.NotNull(own);
            var first = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(tok), "chat.json")))!.AsArray()
                .First(c => c!["template"]!.GetValue<string>() == "own")!;
            Assert.Equal(first["chat_template"]!.GetValue<string>(), ChatTemplateResolver.Resolve(null, own));
        }
    }
}

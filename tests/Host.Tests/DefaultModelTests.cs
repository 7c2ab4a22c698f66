using System.ClientModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using Pipeline.Host.Commands;

namespace Pipeline.Host.Tests;

/// <summary>transformers' greedy continuations of five prompts by the built-in model (scripts/default-model/train.py).</summary>
public static class DefaultModelReference
{
    public sealed record Case(string Prompt, int[] PromptTokenIds, int[] TokenIds, string Text);

    public static IReadOnlyList<Case> Load()
    {
        var doc = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "default-model", "greedy.json")))!;
        return doc["prompts"]!.AsArray().Select(p => new Case(p!["prompt"]!.GetValue<string>(),
            p["prompt_token_ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray(),
            p["token_ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray(), p["text"]!.GetValue<string>())).ToList();
    }
}

/// <summary>`pipeline serve` with no model named: the built-in pipeline-tiny-en, in float32 to compare with transformers.</summary>
public sealed class DefaultModelServer : ServerFixture
{
    protected override IEnumerable<string> CommandArgs => ["serve", "--port", Port.ToString(), "--dtype", "float32"];
}

public class DefaultModelTests(DefaultModelServer server) : IClassFixture<DefaultModelServer>
{
    [Fact]
    public void BuiltInModelIsCopiedBesideTheExecutable()
    {
        var dir = DefaultModel.BuiltIn();
        Assert.NotNull(dir);
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "models", DefaultModel.Name), dir);
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
            Assert.True(File.Exists(Path.Combine(dir!, f)), f);
    }

    [Fact]
    public void GenerateWithoutAModelGivesTransformersGreedyContinuations()
    {
        var cases = DefaultModelReference.Load();
        Assert.Equal(5, cases.Count);
        var args = new List<string> { "generate", "--dtype", "float32", "--temperature", "0", "--max-tokens", "32", "--output", "json" };
        foreach (var c in cases) args.AddRange(["--prompt", c.Prompt]);
        var (exit, stdout, stderr) = PipelineProcess.Run([.. args]);
        Assert.True(exit == 0, stderr);
        var lines = stdout.Trim().Split('\n');
        Assert.Equal(cases.Count, lines.Length);
        for (int i = 0; i < cases.Count; i++)
        {
            var got = JsonNode.Parse(lines[i])!;
            Assert.Equal(cases[i].PromptTokenIds, got["prompt_token_ids"]!.AsArray().Select(t => t!.GetValue<int>()));
            Assert.Equal(cases[i].TokenIds, got["token_ids"]!.AsArray().Select(t => t!.GetValue<int>()));
            Assert.Equal(cases[i].Text, got["text"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ServedCompletionsMatchTransformers()
    {
        var models = JsonNode.Parse(await server.Http.GetStringAsync(server.BaseUrl + "/v1/models"))!;
        Assert.Equal(DefaultModel.Name, models["data"]![0]!["id"]!.GetValue<string>());
        foreach (var c in DefaultModelReference.Load())
        {
            var body = JsonSerializer.Serialize(new { model = DefaultModel.Name, prompt = c.Prompt, max_tokens = 32, temperature = 0 });
            using var r = await server.Http.PostAsync(server.BaseUrl + "/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            var json = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
            Assert.True(r.IsSuccessStatusCode, json.ToJsonString());
            Assert.Equal(c.Text, json["choices"]![0]!["text"]!.GetValue<string>());
            Assert.Equal(c.PromptTokenIds.Length, json["usage"]!["prompt_tokens"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task ChatAnswerEndsWithTheLearnedEndOfTurn()
    {
        var client = new ChatClient(DefaultModel.Name, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") });
        ChatCompletion reply = await client.CompleteChatAsync([new UserChatMessage("What should the Congress do about the public debt?")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 64 });
        // The model was trained with ChatML turns; stopping on <|im_end|> (not the length limit) shows template and stop tokens work.
        Assert.Equal(ChatFinishReason.Stop, reply.FinishReason);
        Assert.True(reply.Usage.OutputTokenCount < 64);
        Assert.Matches(@"^[A-Z][\w ,.;'-]+[.!?]$", reply.Content[0].Text);
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Host.Tests;

/// <summary>`pipeline serve` over one of the tiny random vision-language models of scripts/fixtures/make_vlm_fixtures.py.</summary>
public abstract class VisionModelServer(string model) : ServerFixture
{
    public string Model => model;
    public override string ModelDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", model);
    protected override string[] ServeArgs => ["--dtype", "float32", "--max-model-len", "128"];
}

public sealed class LlavaServer() : VisionModelServer("llava-1.5");
public sealed class LlavaNextServer() : VisionModelServer("llava-next");
public sealed class Qwen2VLServer() : VisionModelServer("qwen2-vl");
public sealed class Qwen2_5_VLServer() : VisionModelServer("qwen2.5-vl");
public sealed class LlavaOnevisionServer() : VisionModelServer("llava-onevision");
public sealed class AyaVisionServer() : VisionModelServer("aya-vision");
public sealed class Mistral3Server() : VisionModelServer("mistral3");
public sealed class LlavaPixtralServer() : VisionModelServer("llava-pixtral");
public sealed class Blip2Server() : VisionModelServer("blip2");

/// <summary>Fuyu has no chat template of its own: served with one that renders the text parts only.</summary>
public sealed class FuyuServer() : VisionModelServer("fuyu")
{
    protected override string[] ServeArgs => [.. base.ServeArgs, "--chat-template",
        "{% for m in messages %}{% for c in m['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}"];
}
public sealed class Idefics3Server() : VisionModelServer("idefics3");
public sealed class SmolVLMServer() : VisionModelServer("smolvlm");
public sealed class Gemma3Server() : VisionModelServer("gemma3");

/// <summary>
/// The fixture's one- and two-image chats sent to /v1/chat/completions as OpenAI clients send them (image_url parts
/// with base64 data: URLs of the PNG files): greedy tokens and top-5 logprobs match transformers' by vLLM's rule, and
/// the prompt is transformers' expanded prompt.
/// </summary>
public abstract class VisionChatTests<TServer>(TServer server) where TServer : VisionModelServer
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public Task Base64_image_chats_match_transformers(int p) => ChatMatchesTransformers(server, p);

    public static async Task ChatMatchesTransformers(VisionModelServer server, int p)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(server.ModelDir, "expected.json")));
        var prompt = doc.RootElement.GetProperty("prompts")[p];
        var want = ModelFixture.Expected(Path.Combine("..", "multimodal", "models", server.Model))[p];
        var content = new JsonArray();
        foreach (var image in prompt.GetProperty("images").EnumerateArray())
        {
            var png = File.ReadAllBytes(Path.Combine(server.ModelDir, "images", image.GetString()!));
            content.Add(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64," + Convert.ToBase64String(png) } });
        }
        var question = prompt.GetProperty("messages")[0].GetProperty("content").EnumerateArray().Single(c => c.GetProperty("type").GetString() == "text");
        content.Add(new JsonObject { ["type"] = "text", ["text"] = question.GetProperty("text").GetString() });
        var body = new JsonObject
        {
            ["model"] = ServerFixture.ModelName,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
            ["max_tokens"] = want.TokenIds.Length, ["temperature"] = 0, ["ignore_eos"] = true,
            ["logprobs"] = true, ["top_logprobs"] = 5, ["return_tokens_as_token_ids"] = true,
        };
        var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        var response = await server.Http.SendAsync(req);
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, raw);
        var result = JsonDocument.Parse(raw).RootElement;
        Assert.Equal(want.PromptTokenIds.Length, result.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        static int Id(JsonElement e) => int.Parse(e.GetProperty("token").GetString()!["token_id:".Length..]);
        var steps = result.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();
        GreedyComparison.AssertMatches(want, steps.Select(Id).ToList(),
            steps.Select(s => s.GetProperty("top_logprobs").EnumerateArray().Select(t => (Id(t), (float)t.GetProperty("logprob").GetDouble())).ToArray()).ToList(),
            steps.Select(s => (float)s.GetProperty("logprob").GetDouble()).ToList(), 1e-3, $"{server.Model} prompt {p} over HTTP");
    }
}

/// <summary>
/// The two-image chat through `pipeline generate --image` (the rendered prompt and the PNG files), with a 5-token step
/// budget so prefill chunks cut through the image tokens: greedy tokens and top-5 logprobs match transformers'.
/// </summary>
public abstract class VisionGenerateCommandTests(string model, int promptIndex = 1, int budget = 5)
{
    [Fact]
    public void Generate_with_images_matches_transformers()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", model);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        var prompt = doc.RootElement.GetProperty("prompts")[promptIndex];
        var want = ModelFixture.Expected(Path.Combine("..", "multimodal", "models", model))[promptIndex];
        var images = prompt.GetProperty("images").EnumerateArray().SelectMany(i => new[] { "--image", Path.Combine(dir, "images", i.GetString()!) });
        var (exit, stdout, stderr) = PipelineProcess.Run(["generate", dir, "--prompt", prompt.GetProperty("text").GetString()!, .. images,
            "--temperature", "0", "--max-tokens", "16", "--ignore-eos", "--output", "json", "--logprobs", "5", "--dtype", "float32",
            "--max-model-len", "128", "--max-num-seqs", "4", "--max-num-batched-tokens", budget.ToString()]);
        Assert.True(exit == 0, stderr);
        var got = JsonDocument.Parse(stdout.Trim()).RootElement;
        Assert.Equal(want.PromptTokenIds, got.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()));
        var top = got.GetProperty("logprobs").EnumerateArray()
            .Select(o => o.EnumerateObject().Select(k => (int.Parse(k.Name), (float)k.Value.GetDouble())).ToArray()).ToList();
        var tokens = got.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()).ToList();
        GreedyComparison.AssertMatches(want, tokens, top, tokens.Select((t, i) => top[i].Single(x => x.Item1 == t).Item2).ToList(), 1e-3, $"{model} pipeline generate");
    }
}

public sealed class LlavaGenerateCommandTests() : VisionGenerateCommandTests("llava-1.5");
public sealed class LlavaNextGenerateCommandTests() : VisionGenerateCommandTests("llava-next");
public sealed class Qwen2VLGenerateCommandTests() : VisionGenerateCommandTests("qwen2-vl");
public sealed class Qwen2_5_VLGenerateCommandTests() : VisionGenerateCommandTests("qwen2.5-vl");
public sealed class LlavaOnevisionGenerateCommandTests() : VisionGenerateCommandTests("llava-onevision");
public sealed class AyaVisionGenerateCommandTests() : VisionGenerateCommandTests("aya-vision");
public sealed class Mistral3GenerateCommandTests() : VisionGenerateCommandTests("mistral3");
public sealed class LlavaPixtralGenerateCommandTests() : VisionGenerateCommandTests("llava-pixtral");
public sealed class FuyuGenerateCommandTests() : VisionGenerateCommandTests("fuyu", 0);
public sealed class Blip2GenerateCommandTests() : VisionGenerateCommandTests("blip2", 0);
public sealed class Idefics3GenerateCommandTests() : VisionGenerateCommandTests("idefics3");
public sealed class SmolVLMGenerateCommandTests() : VisionGenerateCommandTests("smolvlm");
public sealed class Gemma3GenerateCommandTests() : VisionGenerateCommandTests("gemma3");
// PaliGemma's whole prompt attends bidirectionally, so it is computed in one step: the budget must hold it.
public sealed class PaliGemmaGenerateCommandTests() : VisionGenerateCommandTests("paligemma", budget: 40);

public sealed class LlavaChatTests(LlavaServer server) : VisionChatTests<LlavaServer>(server), IClassFixture<LlavaServer>;
public sealed class LlavaNextChatTests(LlavaNextServer server) : VisionChatTests<LlavaNextServer>(server), IClassFixture<LlavaNextServer>;
public sealed class Qwen2VLChatTests(Qwen2VLServer server) : VisionChatTests<Qwen2VLServer>(server), IClassFixture<Qwen2VLServer>;
public sealed class Qwen2_5_VLChatTests(Qwen2_5_VLServer server) : VisionChatTests<Qwen2_5_VLServer>(server), IClassFixture<Qwen2_5_VLServer>;
public sealed class LlavaOnevisionChatTests(LlavaOnevisionServer server) : VisionChatTests<LlavaOnevisionServer>(server), IClassFixture<LlavaOnevisionServer>;
public sealed class AyaVisionChatTests(AyaVisionServer server) : VisionChatTests<AyaVisionServer>(server), IClassFixture<AyaVisionServer>;
public sealed class Mistral3ChatTests(Mistral3Server server) : VisionChatTests<Mistral3Server>(server), IClassFixture<Mistral3Server>;
public sealed class LlavaPixtralChatTests(LlavaPixtralServer server) : VisionChatTests<LlavaPixtralServer>(server), IClassFixture<LlavaPixtralServer>;
public sealed class Idefics3ChatTests(Idefics3Server server) : VisionChatTests<Idefics3Server>(server), IClassFixture<Idefics3Server>;
public sealed class SmolVLMChatTests(SmolVLMServer server) : VisionChatTests<SmolVLMServer>(server), IClassFixture<SmolVLMServer>;

/// <summary>Fuyu's one-image chat over HTTP, with the chat template the server was given (the model has none).</summary>
public sealed class FuyuChatTests(FuyuServer server) : IClassFixture<FuyuServer>
{
    [Fact]
    public Task Base64_image_chat_matches_transformers() => VisionChatTests<FuyuServer>.ChatMatchesTransformers(server, 0);
}

/// <summary>A chat for a model with no chat template (BLIP-2), served without --chat-template: a 400 that says so.</summary>
public sealed class Blip2ChatTests(Blip2Server server) : IClassFixture<Blip2Server>
{
    [Fact]
    public async Task Chat_without_a_chat_template_is_a_400_naming_it()
    {
        var png = File.ReadAllBytes(Path.Combine(server.ModelDir, "images", "cat.png"));
        var body = new JsonObject
        {
            ["model"] = ServerFixture.ModelName,
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(
                    new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64," + Convert.ToBase64String(png) } },
                    new JsonObject { ["type"] = "text", ["text"] = "what is in this image ?" }),
            }),
            ["max_tokens"] = 4,
        };
        var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        var response = await server.Http.SendAsync(req);
        var raw = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("chat template", raw);
    }
}
public sealed class Gemma3ChatTests(Gemma3Server server) : VisionChatTests<Gemma3Server>(server), IClassFixture<Gemma3Server>;

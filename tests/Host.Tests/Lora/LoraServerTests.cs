using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Pipeline.Host.Tests.Lora;

/// <summary>
/// `pipeline serve --enable-lora` over the LoRA fixture (scripts/fixtures/make_lora_fixtures.py): two adapters given at
/// start (one name=path value and one JSON value after a single --lora-modules), runtime load/unload allowed by
/// VLLM_ALLOW_RUNTIME_LORA_UPDATING, and a long max_model_len so a request can run for a while.
/// </summary>
public sealed class LoraServer : ServerFixture
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "lora");
    public static bool Present => File.Exists(Path.Combine(Root, "base", "expected.json"));
    public static string Adapter(string name) => Path.Combine(Root, "adapters", name);
    public override string ModelDir => Path.Combine(Root, "base");
    protected override string[] ServeArgs =>
    [
        "--dtype", "float32", "--max-model-len", "512", "--enable-lora", "--max-loras", "2", "--max-lora-rank", "16", "--max-cpu-loras", "2",
        "--lora-modules", $"attn={Adapter("attn")}", $"{{\"name\": \"mlp\", \"path\": \"{Adapter("mlp-rslora")}\", \"base_model_name\": \"{ModelName}\"}}",
    ];
    protected override IReadOnlyDictionary<string, string> ServerEnvironment => new Dictionary<string, string>
    {
        ["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True", ["PIPELINE_ALLOW_LONG_MAX_MODEL_LEN"] = "1",
    };

    public override Task InitializeAsync() => Present ? base.InitializeAsync() : Task.CompletedTask;
}

public class LoraServerTests(LoraServer server) : IClassFixture<LoraServer>
{
    static JsonArray Expected(string adapter) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(adapter == "base" ? Path.Combine(LoraServer.Root, "base") : LoraServer.Adapter(adapter), "expected.json")))!["prompts"]!.AsArray();

    async Task<HttpResponseMessage> Post(string path, JsonObject body) =>
        await server.Http.PostAsync(server.BaseUrl + path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));

    static JsonObject Completion(string model, JsonNode prompt, int maxTokens = 16, bool stream = false) => new()
    {
        ["model"] = model, ["prompt"] = prompt.DeepClone(), ["max_tokens"] = maxTokens, ["temperature"] = 0, ["ignore_eos"] = true,
        ["logprobs"] = 1, ["return_tokens_as_token_ids"] = true, ["stream"] = stream,
    };

    static int[] Tokens(JsonNode choice) => choice["logprobs"]!["tokens"]!.AsArray().Select(t => int.Parse(t!.GetValue<string>().Split(':')[1])).ToArray();

    async Task<int[]> Greedy(string model, JsonNode prompt)
    {
        var r = await Post("/v1/completions", Completion(model, prompt));
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, body);
        var json = JsonNode.Parse(body)!;
        Assert.Equal(model, json["model"]!.GetValue<string>());
        return Tokens(json["choices"]![0]!);
    }

    [Fact]
    public async Task Models_lists_the_adapters_with_their_parent()
    {
        if (!LoraServer.Present) return;
        var list = JsonNode.Parse(await server.Http.GetStringAsync(server.BaseUrl + "/v1/models"))!["data"]!.AsArray();
        Assert.Equal(ServerFixture.ModelName, list[0]!["id"]!.GetValue<string>());
        Assert.Null(list[0]!["parent"]);
        var attn = list.Single(m => m!["id"]!.GetValue<string>() == "attn")!;
        Assert.Equal(ServerFixture.ModelName, attn["parent"]!.GetValue<string>());
        Assert.Equal(LoraServer.Adapter("attn"), attn["root"]!.GetValue<string>());
        Assert.Contains(list, m => m!["id"]!.GetValue<string>() == "mlp");
    }

    [Fact]
    public async Task The_model_field_picks_the_adapter_and_requests_at_once_give_peft_tokens()
    {
        if (!LoraServer.Present) return;
        var jobs = new[] { ("base", ServerFixture.ModelName), ("attn", "attn"), ("mlp-rslora", "mlp") }
            .SelectMany(m => Expected(m.Item1).Select(p => (Model: m.Item2, Prompt: p!["prompt_token_ids"]!, Want: p["token_ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray())))
            .ToList();
        var got = await Task.WhenAll(jobs.Select(j => Greedy(j.Model, j.Prompt)));
        for (int i = 0; i < jobs.Count; i++)
            Assert.True(jobs[i].Want.SequenceEqual(got[i]), $"{jobs[i].Model}: got {string.Join(",", got[i])}, peft {string.Join(",", jobs[i].Want)}");
    }

    [Fact]
    public async Task Unknown_adapter_is_404_and_bad_adapters_are_400_while_the_server_keeps_serving()
    {
        if (!LoraServer.Present) return;
        var prompt = Expected("base")[0]!["prompt_token_ids"]!;
        var r = await Post("/v1/completions", Completion("no-such-adapter", prompt));
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Contains("no-such-adapter", await r.Content.ReadAsStringAsync());

        var bad = Directory.CreateTempSubdirectory("lora-rank").FullName;
        foreach (var f in Directory.GetFiles(LoraServer.Adapter("mlp-rslora"))) File.Copy(f, Path.Combine(bad, Path.GetFileName(f)));
        r = await Post("/v1/load_lora_adapter", new JsonObject { ["lora_name"] = "big", ["lora_path"] = bad });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);  // rank 16 fits --max-lora-rank 16
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(bad, "adapter_config.json")))!.AsObject();
        cfg["target_modules"] = new JsonArray("gate_proj", "lm_head");
        var other = Directory.CreateTempSubdirectory("lora-target").FullName;
        foreach (var f in Directory.GetFiles(bad)) File.Copy(f, Path.Combine(other, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(other, "adapter_config.json"), cfg.ToJsonString());
        r = await Post("/v1/load_lora_adapter", new JsonObject { ["lora_name"] = "lm", ["lora_path"] = other });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("lm_head", await r.Content.ReadAsStringAsync());
        r = await Post("/v1/load_lora_adapter", new JsonObject { ["lora_name"] = "gone", ["lora_path"] = Path.Combine(bad, "nowhere") });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        r = await Post("/v1/load_lora_adapter", new JsonObject { ["lora_name"] = "attn", ["lora_path"] = LoraServer.Adapter("attn") });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("already been loaded", await r.Content.ReadAsStringAsync());
        r = await Post("/v1/load_lora_adapter", new JsonObject { ["lora_path"] = bad });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("lora_name", await r.Content.ReadAsStringAsync());
        r = await Post("/v1/unload_lora_adapter", new JsonObject { ["lora_name"] = "never-loaded" });
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Post("/v1/unload_lora_adapter", new JsonObject { ["lora_name"] = "big" })).StatusCode);

        var want = Expected("attn")[0]!["token_ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray();
        Assert.Equal(want, await Greedy("attn", prompt));
    }

    [Fact]
    public async Task Adapters_load_and_unload_while_requests_run_and_running_ones_finish()
    {
        if (!LoraServer.Present) return;
        var attn = Expected("attn")[0]!;
        // A long streamed request on `attn`: its first 16 tokens are peft's.
        var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/completions")
        {
            Content = new StringContent(Completion("attn", attn["prompt_token_ids"]!, maxTokens: 300, stream: true).ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var resp = await server.Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        var tokens = new List<int>();
        string? finish = null;
        async Task ReadChunk()
        {
            string? line;
            while ((line = await reader.ReadLineAsync()) != null)
            {
                if (!line.StartsWith("data: ") || line == "data: [DONE]") { if (line == "data: [DONE]") return; continue; }
                var choice = JsonNode.Parse(line[6..])!["choices"]![0]!;
                tokens.AddRange(Tokens(choice));
                finish ??= choice["finish_reason"]?.GetValue<string>();
                return;
            }
        }
        await ReadChunk();

        // While it runs: load an adapter (the regex one) and use it; unload `attn` (new requests for it get 404).
        var r = await Post("/v1/load_lora_adapter", new JsonObject { ["lora_name"] = "late", ["lora_path"] = LoraServer.Adapter("regex") });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var regex = Expected("regex")[1]!;
        Assert.Equal(regex["token_ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray(), await Greedy("late", regex["prompt_token_ids"]!));
        var metrics = await server.Http.GetStringAsync(server.BaseUrl + "/metrics");
        Assert.Contains("vllm:lora_requests_info{max_lora=\"2\"", metrics);
        Assert.Matches("running_lora_adapters=\"[^\"]*attn", metrics);
        r = await Post("/v1/unload_lora_adapter", new JsonObject { ["lora_name"] = "attn" });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Post("/v1/completions", Completion("attn", attn["prompt_token_ids"]!))).StatusCode);
        Assert.True(tokens.Count < 300, "the long request should still be running when attn is unloaded");

        while (finish == null && tokens.Count < 300) await ReadChunk();
        Assert.Equal(300, tokens.Count);
        Assert.Equal("length", finish);
        Assert.Equal(attn["token_ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray(), tokens.Take(16).ToArray());

        // Re-loaded under the same name, it serves again (with a new id, so no cached KV is shared with the old one).
        Assert.Equal(HttpStatusCode.OK, (await Post("/v1/load_lora_adapter", new JsonObject { ["lora_name"] = "attn", ["lora_path"] = LoraServer.Adapter("attn") })).StatusCode);
        Assert.Equal(attn["token_ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray(), await Greedy("attn", attn["prompt_token_ids"]!));
    }
}

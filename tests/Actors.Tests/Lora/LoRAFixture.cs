using Pipeline.Models.Lora;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Actors.Tests.Lora;

/// <summary>
/// The LoRA fixture (scripts/fixtures/make_lora_fixtures.py): a tiny GQA Llama and three PEFT adapters (attention
/// with plain scaling, MLP with rsLoRA and the largest rank, a regex on a few modules), each with transformers+peft's
/// greedy continuations and top-5 logprobs for the same prompts.
/// </summary>
public static class LoRAFixture
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "lora");
    public static string BaseDir => Path.Combine(Root, "base");
    public static bool Present => File.Exists(Path.Combine(BaseDir, "expected.json"));
    public static string[] Adapters => Directory.GetDirectories(Path.Combine(Root, "adapters")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
    public static string AdapterDir(string name) => Path.Combine(Root, "adapters", name);

    /// <summary>expected.json in the model fixtures' layout.</summary>
    static List<FixturePrompt> Read(string dir) => ReadFrom(Path.Combine(dir, "expected.json"));

    public static List<FixturePrompt> ReadFrom(string file)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
        return doc.RootElement.GetProperty("prompts").EnumerateArray().Select(p => new FixturePrompt(
            p.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            p.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            p.GetProperty("logprobs").EnumerateArray().Select(x => x.GetDouble()).ToArray(),
            p.GetProperty("top_logprobs").EnumerateArray().Select(o => o.EnumerateObject().ToDictionary(k => int.Parse(k.Name), k => k.Value.GetDouble())).ToArray())).ToList();
    }

    public static List<FixturePrompt> Expected(string? adapter) => Read(adapter == null ? BaseDir : AdapterDir(adapter));

    /// <summary>Every (adapter or base, prompt) case, the base first.</summary>
    public static List<(string? Adapter, FixturePrompt Prompt)> Cases() =>
        new string?[] { null }.Concat(Adapters).SelectMany(a => Expected(a).Select(p => (a, p))).ToList();

    public static LoRARequest Request(string adapter, int id) => new(adapter, id, AdapterDir(adapter));
}

using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.ChatTemplates;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal.Audio;
using Pipeline.Models.Tokenizers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// The tiny random Qwen2-Audio made by scripts/fixtures/make_audio_lm_fixtures.py: the chat template renders audio parts
/// as transformers did, the WAV clips give transformers' input_features, feature lengths and expanded input_ids
/// (Qwen2AudioProcessor), and the audio tower + projector give transformers' audio features (the rows that replace
/// the &lt;|AUDIO|&gt; tokens).
/// </summary>
public class Qwen2AudioFixtureTests(ITestOutputHelper output)
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "qwen2-audio");

    public static IEnumerable<object[]> Prompts() =>
        File.Exists(Path.Combine(Dir, "expected.json"))
            ? Enumerable.Range(0, JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]!.AsArray().Count).Select(i => new object[] { i })
            : [[-1]];

    static JsonNode Prompt(int p) => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]![p]!;

    static AudioPlaceholders Placeholders(HfTokenizer tokenizer) =>
        AudioPlaceholders.Create(JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject(), Dir, tokenizer.TokenToId)!;

    static List<ProcessedAudio> Clips(AudioPlaceholders placeholders, JsonNode prompt) =>
        prompt["audio"]!.AsArray().Select(n => placeholders.Process(File.ReadAllBytes(Path.Combine(Dir, "audio", n!.GetValue<string>())))).ToList();

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Processor_and_template_give_transformers_input_ids_and_features(int p)
    {
        if (p < 0) return;
        var prompt = Prompt(p);
        var template = new ChatTemplate(File.ReadAllText(Path.Combine(Dir, "chat_template.jinja")));
        var text = template.Render(new ChatTemplateContext { Messages = prompt["messages"]!.AsArray().ToList(), AddGenerationPrompt = true });
        Assert.Equal(prompt["text"]!.GetValue<string>(), text);

        var tokenizer = HfTokenizer.Load(Dir);
        var placeholders = Placeholders(tokenizer);
        var clips = Clips(placeholders, prompt);
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var mask = inputs.Longs($"p{p}.feature_attention_mask");
        int frames = inputs.Shape($"p{p}.feature_attention_mask")[1];
        Assert.Equal(Enumerable.Range(0, clips.Count).Select(i => (int)mask.Skip(i * frames).Take(frames).Sum()), clips.Select(c => c.ValidFrames));
        Assert.Equal(prompt["audio_token_counts"]!.AsArray().Select(x => x!.GetValue<int>()), clips.Select(placeholders.NumAudioTokens));
        var (ids, _) = placeholders.Expand(tokenizer.Encode(text), clips);
        Assert.Equal(prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);

        // WhisperFeatureExtractor on the same 16-bit samples: the bound of WhisperFeatureExtractorTests (float64 STFT
        // here, transformers' torch path in float32).
        var want = inputs.Floats($"p{p}.input_features");
        var got = clips.SelectMany(c => c.Features).ToArray();
        Assert.Equal(want.Length, got.Length);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"prompt {p}: {clips.Count} clip(s), frames {string.Join(" ", clips.Select(c => c.ValidFrames))}, input_features max |diff| {max:g3}");
        Assert.True(max < 1e-4f, $"input_features differ by up to {max}");
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Audio_tower_and_projector_give_transformers_audio_features(int p)
    {
        if (p < 0) return;
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        var options = WhisperOptions.ForEncoder(config["audio_config"]!.AsObject());
        using var weights = new SafetensorsWeightSource(WeightStore.Open(Dir));
        string prefix = weights.Contains("model.audio_tower.conv1.weight") ? "model." : "";
        int hidden = config["text_config"]!["hidden_size"]!.GetValue<int>();
        using var encoder = new Qwen2AudioEncoder(options, weights, prefix + "audio_tower.", prefix + "multi_modal_projector.", hidden, ScalarType.Float32, CPU);
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var shape = inputs.Shape($"p{p}.input_features");
        var features = inputs.Floats($"p{p}.input_features");
        var mask = inputs.Longs($"p{p}.feature_attention_mask");
        int per = shape[1] * shape[2];
        var got = new List<float>();
        for (int i = 0; i < shape[0]; i++)
        {
            var clip = new ProcessedAudio(features.AsSpan(i * per, per).ToArray(), shape[1], shape[2], 0, "")
            {
                ValidFrames = (int)mask.Skip(i * shape[2]).Take(shape[2]).Sum(),
            };
            using var rows = encoder.Encode(clip);
            Assert.Equal(Qwen2AudioEncoder.NumAudioTokens(clip.ValidFrames), rows.shape[0]);
            got.AddRange(rows.reshape(-1).data<float>().ToArray());
        }
        var want = inputs.Floats($"p{p}.audio_features");
        Assert.Equal(want.Length, got.Count);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"prompt {p}: {shape[0]} clip(s), audio features max |diff| {max:g3}");
        Assert.True(max < 1e-5f, $"audio features differ by up to {max}");
    }

    [Fact]
    public void Token_count_follows_the_processor_formula()
    {
        // Qwen2AudioProcessor: ((L - 1) // 2 + 1 - 2) // 2 + 1 for L mel frames; a full 30 s window (3000) gives 750.
        foreach (var (frames, tokens) in new[] { (3000, 750), (125, 31), (189, 47), (1, 0), (2, 0), (3, 1), (4, 1), (5, 1), (7, 2) })
            Assert.Equal(tokens, Qwen2AudioEncoder.NumAudioTokens(frames));
    }
}

using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tokenizers;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// The tiny random PaliGemma made by scripts/fixtures/vlm_families/gemma.py (transformers 5.17, SigLIP PIL image
/// processor; no chat template, the prompt is "&lt;image&gt;" per image + the question): the placeholder rule gives
/// transformers' input_ids (image tokens, bos, text, "\n"), pixel_values are bit-exact, SigLIP + the linear projector
/// give the image features, and the first generated token's logprobs match transformers only when the whole prompt
/// attends bidirectionally (PaliGemma's prefix LM) and positions start at 1.
/// </summary>
public class PaliGemmaFixtureTests(ITestOutputHelper output)
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "paligemma");

    public static IEnumerable<object[]> Prompts() =>
        File.Exists(Path.Combine(Dir, "expected.json")) ? [[0], [1]] : [[-1]];

    static JsonNode Prompt(int p) => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]![p]!;

    static (ImagePlaceholders Placeholders, List<ProcessedImage> Images, HfTokenizer Tokenizer) Inputs(JsonNode prompt)
    {
        var tokenizer = HfTokenizer.Load(Dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        var placeholders = ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(Dir)!, tokenizer.TokenToId, t => tokenizer.Encode(t, false));
        var images = prompt["images"]!.AsArray()
            .Select(n => placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(Dir, "images", n!.GetValue<string>()))))).ToList();
        return (placeholders, images, tokenizer);
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Placeholders_and_processor_give_transformers_inputs(int p)
    {
        if (p < 0) return;
        var prompt = Prompt(p);
        var (placeholders, images, tokenizer) = Inputs(prompt);
        var want = prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        var (ids, ranges) = placeholders.Expand(tokenizer.Encode(prompt["text"]!.GetValue<string>()), images);
        Assert.Equal(want, ids);
        // The same prompt without image tokens gets them in front, as PaliGemmaProcessor does.
        var question = prompt["messages"]![0]!["content"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "text")!["text"]!.GetValue<string>();
        Assert.Equal(want, placeholders.Expand(tokenizer.Encode(question), images).Ids);
        // token_type_ids are all 0: the whole prompt is the bidirectional prefix.
        Assert.All(prompt["token_type_ids"]!.AsArray(), t => Assert.Equal(0, t!.GetValue<int>()));
        Assert.Equal([new PositionRange(0, ids.Length)], placeholders.BidirectionalRanges(ids.Length, ranges));

        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        Assert.Equal(inputs.Floats($"p{p}.pixel_values"), images.SelectMany(i => i.PixelValues).ToArray());
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Siglip_tower_and_projector_give_transformers_image_features(int p)
    {
        if (p < 0) return;
        var (model, _) = ModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, CPU);
        using var m = model;
        var vlm = Assert.IsType<PaliGemmaForConditionalGeneration>(model);
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var shape = inputs.Shape($"p{p}.pixel_values");
        var pixels = inputs.Floats($"p{p}.pixel_values");
        int per = shape[1] * shape[2] * shape[3];
        var got = new List<float>();
        for (int i = 0; i < shape[0]; i++)
        {
            using var rows = vlm.EncodeImage(new ProcessedImage(pixels[(i * per)..((i + 1) * per)], [shape[1], shape[2], shape[3]], shape[2], shape[3]));
            got.AddRange(rows.reshape(-1).data<float>().ToArray());
        }
        var want = inputs.Floats($"p{p}.image_features");
        Assert.Equal(want.Length, got.Count);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"prompt {p}: {shape[0]} image(s), image features max |diff| {max:g3}");
        Assert.True(max < 1e-4f, $"image features differ by up to {max}");
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void The_prefix_lm_mask_over_the_prompt_is_what_transformers_computes(int p)
    {
        if (p < 0) return;
        var prompt = Prompt(p);
        var (placeholders, images, tokenizer) = Inputs(prompt);
        var (ids, ranges) = placeholders.Expand(tokenizer.Encode(prompt["text"]!.GetValue<string>()), images);
        var top = prompt["top_logprobs"]![0]!.AsObject().ToDictionary(kv => int.Parse(kv.Key), kv => kv.Value!.GetValue<double>());
        var (model, _) = ModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, CPU);
        using var m = model;
        double MaxDiff(IReadOnlyList<PositionRange>? bidi)
        {
            using var runner = new ModelRunner(model, numBlocks: 32, blockSize: 16, eosTokenIds: []);
            var plan = new SchedulerOutput();
            var mm = images.Select((img, i) => new MultiModalInput($"img{i}", ranges[i].Offset, ranges[i].Length, img)).ToList();
            plan.ScheduledNewReqs.Add(new NewRequestData("r", ids, new SamplingParams { Temperature = 0, MaxTokens = 1, Logprobs = 5 }, ids,
                Enumerable.Range(0, (ids.Length + 15) / 16).ToList(), 0, MmInputs: mm, BidirectionalRanges: bidi));
            plan.ScheduledEncoderInputs["r"] = Enumerable.Range(0, images.Count).ToList();
            plan.NumScheduledTokens["r"] = ids.Length;
            plan.TotalNumScheduledTokens = ids.Length;
            var got = runner.Execute(plan).Logprobs[0]![0].Top.ToDictionary(t => t.TokenId, t => (double)t.Logprob);
            return top.Max(kv => got.TryGetValue(kv.Key, out var lp) ? Math.Abs(lp - kv.Value) : double.PositiveInfinity);
        }
        double withMask = MaxDiff(placeholders.BidirectionalRanges(ids.Length, ranges)), causalOnly = MaxDiff(null);
        output.WriteLine($"prompt {p}: first-token top-5 logprobs max |diff| {withMask:g3} with the prompt bidirectional, {causalOnly:g3} causal only");
        // Float32 agreement is ~1e-6; a causal-only mask is off by 7e-3 to 0.14 on these fixtures.
        Assert.True(withMask < 1e-4, $"with the prompt bidirectional the logprobs differ by {withMask}");
        Assert.True(causalOnly > 1e-3, $"a causal-only mask gives transformers' logprobs too ({causalOnly}): the test shows nothing");
    }
}

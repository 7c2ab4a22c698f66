using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.ChatTemplates;
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
/// The tiny random Gemma 3 made by scripts/fixtures/vlm_families/gemma.py (transformers 5.17, PIL image processor): the
/// chat template renders image parts as transformers did; the image sequences ("\n\n", start_of_image, soft tokens,
/// end_of_image, "\n\n", newlines joined with the prompt's) give transformers' input_ids; the bidirectional ranges are
/// transformers' token_type_ids blocks; pixel_values are bit-exact; SigLIP + the Gemma 3 projector give the image
/// features; and the first generated token's top-5 logprobs match transformers only with the bidirectional mask.
/// </summary>
public class Gemma3FixtureTests(ITestOutputHelper output)
{
    string Dir = "";

    /// <summary>gemma3, and gemma3-pas: the same kind of model with pan-and-scan on (each image plus 2 crops).</summary>
    public static IEnumerable<object[]> Prompts() =>
        from fixture in new[] { "gemma3", "gemma3-pas" }
        from p in new[] { 0, 1 }
        select new object[] { fixture, p };

    bool Use(string fixture)
    {
        Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", fixture);
        return File.Exists(Path.Combine(Dir, "expected.json"));
    }

    JsonNode Prompt(int p) => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]![p]!;

    /// <summary>The fixture's processor config; gemma3-pas turns pan-and-scan on as its transformers call did.</summary>
    public static ImageProcessorConfig ProcessorConfig(string dir)
    {
        var config = ImageProcessorConfig.FromDirectory(dir)!;
        if (Path.GetFileName(dir) == "gemma3-pas")
        {
            config.Raw["do_pan_and_scan"] = true;
            config.Raw["pan_and_scan_min_crop_size"] = 16;
        }
        return config;
    }

    (ImagePlaceholders Placeholders, List<ProcessedImage> Images, HfTokenizer Tokenizer) Inputs(JsonNode prompt)
    {
        var tokenizer = HfTokenizer.Load(Dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        var placeholders = ImagePlaceholders.Create(config, ProcessorConfig(Dir), tokenizer.TokenToId, t => tokenizer.Encode(t, false));
        var images = prompt["images"]!.AsArray()
            .Select(n => placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(Dir, "images", n!.GetValue<string>()))))).ToList();
        return (placeholders, images, tokenizer);
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Template_placeholders_and_processor_give_transformers_inputs(string fixture, int p)
    {
        if (!Use(fixture)) return;
        var prompt = Prompt(p);
        var template = new ChatTemplate(File.ReadAllText(Path.Combine(Dir, "chat_template.jinja")));
        var text = template.Render(new ChatTemplateContext
        {
            Messages = prompt["messages"]!.AsArray().ToList(), AddGenerationPrompt = true, BosToken = "<s>",
        });
        Assert.Equal(prompt["text"]!.GetValue<string>(), text);

        var (placeholders, images, tokenizer) = Inputs(prompt);
        var (ids, ranges) = placeholders.Expand(tokenizer.Encode(text), images);
        Assert.Equal(prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);

        // transformers' token_type_ids: 1 on the soft tokens; each run is one bidirectional block.
        var types = prompt["token_type_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        var blocks = new List<PositionRange>();
        for (int i = 0; i < types.Length; i++)
            if (types[i] == 1 && (i == 0 || types[i - 1] == 0))
            {
                int j = i;
                while (j < types.Length && types[j] == 1) j++;
                blocks.Add(new PositionRange(i, j - i));
            }
        Assert.Equal(blocks, placeholders.BidirectionalRanges(ids.Length, ranges));

        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var want = inputs.Floats($"p{p}.pixel_values");
        var got = images.SelectMany(i => i.PixelValues).ToArray();
        Assert.Equal(want, got); // the PIL backend, bit for bit
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Siglip_tower_and_projector_give_transformers_image_features(string fixture, int p)
    {
        if (!Use(fixture)) return;
        var (model, _) = ModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, CPU);
        using var m = model;
        var vlm = Assert.IsType<Gemma3ForConditionalGeneration>(model);
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var shape = inputs.Shape($"p{p}.pixel_values");
        var pixels = inputs.Floats($"p{p}.pixel_values");
        int per = shape[1] * shape[2] * shape[3];
        var got = new List<float>();
        for (int i = 0; i < shape[0]; i++)
        {
            using var rows = vlm.EncodeImage(new ProcessedImage(pixels[(i * per)..((i + 1) * per)], [1, shape[1], shape[2], shape[3]], shape[2], shape[3]));
            got.AddRange(rows.reshape(-1).data<float>().ToArray());
        }
        var want = inputs.Floats($"p{p}.image_features");
        Assert.Equal(want.Length, got.Count);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{fixture} prompt {p}: {shape[0]} image(s), image features max |diff| {max:g3}");
        Assert.True(max < 1e-4f, $"image features differ by up to {max}");
    }

    /// <summary>
    /// The prompt's whole prefill in one runner step, with the image soft tokens bidirectional (as transformers) and
    /// without (causal only): only the first gives transformers' first-token logprobs.
    /// </summary>
    [Theory]
    [MemberData(nameof(Prompts))]
    public void The_bidirectional_mask_over_image_tokens_is_what_transformers_computes(string fixture, int p)
    {
        if (!Use(fixture)) return;
        var prompt = Prompt(p);
        var (placeholders, images, tokenizer) = Inputs(prompt);
        var (ids, ranges) = placeholders.Expand(tokenizer.Encode(prompt["text"]!.GetValue<string>()), images);
        var bidirectional = placeholders.BidirectionalRanges(ids.Length, ranges);
        var top = prompt["top_logprobs"]![0]!.AsObject().ToDictionary(kv => int.Parse(kv.Key), kv => kv.Value!.GetValue<double>());
        var (model, _) = ModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, CPU);
        using var m = model;
        double MaxDiff(IReadOnlyList<PositionRange>? bidi)
        {
            using var runner = new ModelRunner(model, numBlocks: 32, blockSize: 16, eosTokenIds: []);
            var plan = new SchedulerOutput();
            var mm = images.Select((img, i) => new MultiModalInput($"img{i}", ranges[i].Offset, ranges[i].Length, img) { IsEmbed = ranges[i].IsEmbed }).ToList();
            plan.ScheduledNewReqs.Add(new NewRequestData("r", ids, new SamplingParams { Temperature = 0, MaxTokens = 1, Logprobs = 5 }, ids,
                Enumerable.Range(0, (ids.Length + 15) / 16).ToList(), 0, MmInputs: mm, BidirectionalRanges: bidi));
            plan.ScheduledEncoderInputs["r"] = Enumerable.Range(0, images.Count).ToList();
            plan.NumScheduledTokens["r"] = ids.Length;
            plan.TotalNumScheduledTokens = ids.Length;
            var got = runner.Execute(plan).Logprobs[0]![0].Top.ToDictionary(t => t.TokenId, t => (double)t.Logprob);
            return top.Max(kv => got.TryGetValue(kv.Key, out var lp) ? Math.Abs(lp - kv.Value) : double.PositiveInfinity);
        }
        double withMask = MaxDiff(bidirectional), causalOnly = MaxDiff(null);
        output.WriteLine($"{fixture} prompt {p}: first-token top-5 logprobs max |diff| {withMask:g3} with the bidirectional ranges, {causalOnly:g3} causal only");
        // Float32 agreement is ~1e-6; a causal-only mask is off by 7e-3 to 0.14 on these fixtures.
        Assert.True(withMask < 1e-4, $"with the bidirectional ranges the logprobs differ by {withMask}");
        Assert.True(causalOnly > 1e-3, $"a causal-only mask gives transformers' logprobs too ({causalOnly}): the test shows nothing");
    }
}

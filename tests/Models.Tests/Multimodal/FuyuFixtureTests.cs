using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Tokenizers;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// The tiny random Fuyu made by scripts/fixtures/make_vlm_fixtures.py (vlm_families/fuyu.py): FuyuProcessor's token
/// layout (patch rows of |SPEAKER| closed by |NEWLINE|, BOS, the prompt, \x04) and its PIL-backend patches bit for bit,
/// and vision_embed_tokens giving transformers' image features. Fuyu has no chat template: the prompt is the question.
/// </summary>
public class FuyuFixtureTests(ITestOutputHelper output)
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "fuyu");
    static bool Present => File.Exists(Path.Combine(Dir, "expected.json"));
    static JsonNode Prompt => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]![0]!;

    static (FuyuPlaceholders Placeholders, HfTokenizer Tokenizer) Load()
    {
        var tokenizer = HfTokenizer.Load(Dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        return (Assert.IsType<FuyuPlaceholders>(ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(Dir)!, tokenizer.TokenToId)), tokenizer);
    }

    static ProcessedImage Image(ImagePlaceholders placeholders) =>
        placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(Dir, "images", Prompt["images"]![0]!.GetValue<string>()))));

    [Fact]
    public void Processor_gives_transformers_input_ids_and_patches()
    {
        if (!Present) return;
        var prompt = Prompt;
        var text = prompt["text"]!.GetValue<string>();
        Assert.Equal(prompt["messages"]![0]!["content"]!.AsArray().Last()!["text"]!.GetValue<string>(), text);
        var (placeholders, tokenizer) = Load();
        var image = Image(placeholders);
        var (ids, ranges) = placeholders.Expand(tokenizer.Encode(text), [image]);
        Assert.Equal(prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);
        int rows = image.Shape[0], cols = image.Shape[1];
        Assert.Equal((0, rows * (cols + 1)), (ranges[0].Offset, ranges[0].Length));
        // Only the |SPEAKER| positions take patch rows; each row's |NEWLINE| keeps its token embedding.
        Assert.Equal(Enumerable.Range(0, rows).SelectMany(_ => Enumerable.Repeat(true, cols).Append(false)), ranges[0].IsEmbed!);
        Assert.Equal(rows * cols, placeholders.NumImageTokens(image));

        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        Assert.Equal(new[] { rows * cols, image.Shape[2] }, inputs.Shape("p0.image_patches"));
        var want = inputs.Floats("p0.image_patches");
        float max = want.Zip(image.PixelValues, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{rows}x{cols} patches of {image.Shape[2]}: max |diff| {max:g3} against the PIL backend");
        Assert.Equal(0f, max);
    }

    [Fact]
    public void Patch_embeddings_are_transformers_image_features()
    {
        if (!Present) return;
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        using var weights = new SafetensorsWeightSource(WeightStore.Open(Dir));
        using var model = new FuyuForCausalLM(ModelConfig.Load(Dir), weights, ScalarType.Float32, CPU);
        var shape = inputs.Shape("p0.image_patches");
        using var patches = torch.tensor(inputs.Floats("p0.image_patches"), [shape[0], shape[1]]);
        using var features = model.EmbedPatches(patches);
        var want = inputs.Floats("p0.image_features");
        var got = features.reshape(-1).data<float>().ToArray();
        Assert.Equal(want.Length, got.Length);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{shape[0]} patch embeddings, max |diff| {max:g3} (largest |value| {want.Max(x => Math.Abs(x)):g3})");
        Assert.True(max < 1e-4f, $"image features differ by up to {max}");

        // What the runner gets for an image decoded and processed here: the same rows.
        var (placeholders, _) = Load();
        using var rows = model.EncodeImage(Image(placeholders));
        Assert.True(torch.allclose(rows, features, 0, 0), "EncodeImage differs from the patch embeddings of transformers' patches");
    }

    [Fact]
    public void Loads_transformers_5_module_names_too()
    {
        if (!Present) return;
        // transformers 5.17 saves the hub's layout (language_model.model.*, language_model.lm_head.*,
        // vision_embed_tokens.*), which the other tests load; this serves the same weights under its module names
        // (model.language_model.*, lm_head.*, model.vision_embed_tokens.*), any other name being absent.
        using var saved = new SafetensorsWeightSource(WeightStore.Open(Dir));
        var modules = new RenamedWeightSource(saved, n =>
            n.StartsWith("model.language_model.", StringComparison.Ordinal) ? "language_model.model." + n["model.language_model.".Length..]
            : n == "lm_head.weight" ? "language_model.lm_head.weight"
            : n.StartsWith("model.vision_embed_tokens.", StringComparison.Ordinal) ? n["model.".Length..]
            : "absent:" + n);
        using var model = new FuyuForCausalLM(ModelConfig.Load(Dir), modules, ScalarType.Float32, CPU);
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var shape = inputs.Shape("p0.image_patches");
        using var patches = torch.tensor(inputs.Floats("p0.image_patches"), [shape[0], shape[1]]);
        using var features = model.EmbedPatches(patches);
        float max = inputs.Floats("p0.image_features").Zip(features.reshape(-1).data<float>().ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(max < 1e-4f, $"image features differ by up to {max}");
    }
}

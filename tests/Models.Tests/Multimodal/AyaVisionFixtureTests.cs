using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.ChatTemplates;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Tokenizers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// The tiny random Aya Vision made by scripts/fixtures/vlm_families/onevision.py (SigLIP tower, pixel-shuffle SwiGLU
/// projector, Cohere2, GOT-OCR2 tiles): the chat template renders as transformers did; the PIL-backend GOT-OCR2 tiles
/// and thumbnail are transformers' pixel_values bit for bit; the expanded input_ids (start, TILE_k, patch tokens,
/// TILE_GLOBAL, end) are transformers', with exactly the &lt;|IMG_PATCH|&gt; positions taking encoder rows; and the
/// tower and projector give transformers' image features.
/// </summary>
public class AyaVisionFixtureTests(ITestOutputHelper output)
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "aya-vision");

    [Fact]
    public void Template_tiles_input_ids_and_features_match_transformers()
    {
        if (!File.Exists(Path.Combine(Dir, "expected.json"))) return;
        var prompts = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]!.AsArray();
        var (model, _) = ModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, CPU);
        using var _m = model;
        var vision = Assert.IsType<AyaVisionForConditionalGeneration>(model);
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var tokenizer = HfTokenizer.Load(Dir);
        var template = new ChatTemplate(File.ReadAllText(Path.Combine(Dir, "chat_template.jinja")));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        var placeholders = ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(Dir)!, tokenizer.TokenToId,
            t => tokenizer.Encode(t, addSpecialTokens: false));
        int patchId = config["image_token_index"]!.GetValue<int>();
        for (int p = 0; p < prompts.Count; p++)
        {
            var prompt = prompts[p]!;
            var text = template.Render(new ChatTemplateContext { Messages = prompt["messages"]!.AsArray().ToList(), AddGenerationPrompt = true });
            Assert.Equal(prompt["text"]!.GetValue<string>(), text);
            var images = prompt["images"]!.AsArray()
                .Select(n => placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(Dir, "images", n!.GetValue<string>()))))).ToList();
            Assert.Equal(inputs.Floats($"p{p}.pixel_values"), images.SelectMany(i => i.PixelValues).ToArray());

            var got = new List<float>();
            foreach (var image in images)
            {
                using var features = vision.EncodeImage(image);
                Assert.Equal(placeholders.NumImageTokens(image), (int)features.shape[0]);
                got.AddRange(features.reshape(-1).data<float>().ToArray());
            }
            var want = inputs.Floats($"p{p}.image_features");
            Assert.Equal(want.Length, got.Count);
            float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
            output.WriteLine($"prompt {p}: tiles {string.Join("+", images.Select(i => i.Shape[0]))}, {got.Count / config["text_config"]!["hidden_size"]!.GetValue<int>()} feature rows, max |diff| {max:g3}");
            Assert.True(max < 1e-5f, $"prompt {p}: image features differ by up to {max}");

            var (ids, ranges) = placeholders.Expand(tokenizer.Encode(text), images);
            var wantIds = prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
            Assert.Equal(wantIds, ids);
            // The positions that take encoder rows are exactly transformers' image-token positions (masked_scatter).
            var embedded = ranges.SelectMany(r => Enumerable.Range(r.Offset, r.Length).Where(i => r.IsEmbed![i - r.Offset])).ToArray();
            Assert.Equal(Enumerable.Range(0, wantIds.Length).Where(i => wantIds[i] == patchId), embedded);
        }
    }
}

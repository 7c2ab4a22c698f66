using System.Text.Json.Nodes;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Multimodal;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Tests.Multimodal;

public class MultiModalInputProcessorTests
{
    const int ImageToken = 5;

    /// <summary>A LLaVA-style rule: CLIP processing to 28x28, patches of 14, so each image takes 4 tokens.</summary>
    static MultiModalInputProcessor Processor(MediaOptions? options = null, int maxModelLen = 64)
    {
        var config = ImageProcessorConfig.FromJson(
            JsonNode.Parse("""{"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 28}, "crop_size": {"height": 28, "width": 28}}""")!.AsObject(),
            JsonNode.Parse("""{"processor_class": "LlavaProcessor", "patch_size": 14, "vision_feature_select_strategy": "default", "num_additional_image_tokens": 1}""")!.AsObject());
        var placeholders = ImagePlaceholders.Create(new JsonObject { ["model_type"] = "llava", ["image_token_index"] = ImageToken }, config);
        return new MultiModalInputProcessor(placeholders, new MediaConnector(options ?? new MediaOptions()), maxModelLen);
    }

    static Request Req(params int[] ids) => new("r", ids, new SamplingParams { MaxTokens = 4 });

    static async Task<string> Refusal(Func<Task> f) => (await Assert.ThrowsAnyAsync<ArgumentException>(f)).Message;

    [Fact]
    public async Task Placeholders_expand_and_each_image_becomes_a_feature()
    {
        var a = TestImages.Png(seed: 1);
        var b = TestImages.Png(seed: 2);
        var r = await Processor().ProcessAsync(Req(1, ImageToken, 2, ImageToken, 3), [ImageInput.FromBytes(a), ImageInput.FromUrl(TestImages.DataUrl(b))]);
        Assert.Equal([1, 5, 5, 5, 5, 2, 5, 5, 5, 5, 3], r.PromptTokenIds);
        Assert.Equal(2, r.MultiModalFeatures.Count);
        Assert.Equal((1, 4), (r.MultiModalFeatures[0].Offset, r.MultiModalFeatures[0].Length));
        Assert.Equal((6, 4), (r.MultiModalFeatures[1].Offset, r.MultiModalFeatures[1].Length));
        Assert.NotEqual(r.MultiModalFeatures[0].Hash, r.MultiModalFeatures[1].Hash);
        Assert.Equal([3, 28, 28], r.MultiModalFeatures[0].Image!.Shape);
    }

    [Fact]
    public async Task Same_image_same_hash_different_image_different_prefix_cache_keys()
    {
        var p = Processor();
        var a = TestImages.Png(seed: 1);
        var r1 = await p.ProcessAsync(Req(1, ImageToken, 2), [ImageInput.FromBytes(a)]);
        var r2 = await p.ProcessAsync(Req(1, ImageToken, 2), [ImageInput.FromUrl(TestImages.DataUrl(a))]);
        var r3 = await p.ProcessAsync(Req(1, ImageToken, 2), [ImageInput.FromBytes(TestImages.Png(seed: 9))]);
        Assert.Equal(r1.MultiModalFeatures[0].Hash, r2.MultiModalFeatures[0].Hash);
        Assert.Equal(r1.PromptTokenIds, r3.PromptTokenIds);
        Assert.Equal(BlockHasher.ExtraKeys(r1, 0, 4), BlockHasher.ExtraKeys(r2, 0, 4));
        Assert.NotEqual(BlockHasher.ExtraKeys(r1, 0, 4), BlockHasher.ExtraKeys(r3, 0, 4));
        BlockHasher.UpdateBlockHashes(r1, 2);
        BlockHasher.UpdateBlockHashes(r3, 2);
        Assert.NotEqual(r1.BlockHashes[0], r3.BlockHashes[0]);
    }

    [Fact]
    public async Task Bad_input_is_refused_with_the_problem_named()
    {
        var p = Processor(new MediaOptions { LimitImagesPerPrompt = 2, MaxImagePixels = 10_000 });
        var png = TestImages.Png();
        Assert.Contains("the prompt has 2 image placeholder token(s) (id 5) but 1 image(s) were given",
            await Refusal(() => p.ProcessAsync(Req(ImageToken, ImageToken), [ImageInput.FromBytes(png)])));
        Assert.Contains("but no image was given", await Refusal(() => p.ProcessAsync(Req(1, ImageToken), [])));
        Assert.Contains("too many images: 3 in one prompt, the limit is 2",
            await Refusal(() => p.ProcessAsync(Req(ImageToken, ImageToken, ImageToken), [ImageInput.FromBytes(png), ImageInput.FromBytes(png), ImageInput.FromBytes(png)])));
        Assert.Contains("image 2: the image could not be decoded",
            await Refusal(() => p.ProcessAsync(Req(ImageToken, ImageToken), [ImageInput.FromBytes(png), ImageInput.FromBytes("hello, not an image"u8.ToArray())])));
        Assert.Contains("truncated", await Refusal(() => p.ProcessAsync(Req(ImageToken), [ImageInput.FromBytes(TestImages.Jpeg(64, 64)[..300])])));
        Assert.Contains("image is too large: 200x100 = 20000 pixels", await Refusal(() => p.ProcessAsync(Req(ImageToken), [ImageInput.FromBytes(TestImages.Png(200, 100))])));
        Assert.Contains("unsupported image format ICO", await Refusal(() => p.ProcessAsync(Req(ImageToken), [ImageInput.FromBytes(Ico(png))])));
        Assert.Contains("not valid base64", await Refusal(() => p.ProcessAsync(Req(ImageToken), [ImageInput.FromUrl("data:image/png;base64,!!")])));
        Assert.Contains("does not take images",
            await Refusal(() => new MultiModalInputProcessor(null, new MediaConnector(new MediaOptions()), 64).ProcessAsync(Req(1), [ImageInput.FromBytes(png)])));
    }

    [Fact]
    public async Task The_expanded_prompt_must_fit_max_model_len()
    {
        var p = Processor(maxModelLen: 8);
        var png = TestImages.Png();
        Assert.Contains("plus max_tokens (4) exceeds max_model_len (8)", await Refusal(() => p.ProcessAsync(Req(1, ImageToken), [ImageInput.FromBytes(png)])));
        // Chat's default max_tokens is what is left once the image is expanded.
        var r = await p.ProcessAsync(Req(1, ImageToken), [ImageInput.FromBytes(png)], maxTokensFillContext: true);
        Assert.Equal(3, r.SamplingParams.MaxTokens);
    }

    /// <summary>An .ico file holding one PNG image: decodable, but not a format a model processor takes.</summary>
    static byte[] Ico(byte[] png)
    {
        var header = new byte[22];
        header[2] = 1; header[4] = 1; // type icon, one image
        header[6] = 8; header[7] = 6; header[10] = 1; header[12] = 32;
        BitConverter.GetBytes(png.Length).CopyTo(header, 14);
        BitConverter.GetBytes(22).CopyTo(header, 18);
        return [.. header, .. png];
    }
}

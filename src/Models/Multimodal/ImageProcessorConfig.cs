using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Models.Config;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// A size as transformers' <c>SizeDict</c> reads it: one of shortest_edge (+ longest_edge), height + width, or
/// max_height + max_width.
/// </summary>
public sealed record SizeSpec(int? ShortestEdge = null, int? LongestEdge = null, int? Height = null, int? Width = null,
    int? MaxHeight = null, int? MaxWidth = null)
{
    public static SizeSpec Square(int s) => new(Height: s, Width: s);

    /// <summary>get_size_dict: an int is a square when <paramref name="defaultToSquare"/>, else a shortest edge.</summary>
    internal static SizeSpec? Read(JsonNode? node, bool defaultToSquare, string field)
    {
        switch (node)
        {
            case null: return null;
            case JsonValue v when v.TryGetValue<double>(out var d):
                return defaultToSquare ? Square((int)d) : new SizeSpec(ShortestEdge: (int)d);
            case JsonArray a when a.Count == 2:
                return new SizeSpec(Height: a[0]!.GetValue<int>(), Width: a[1]!.GetValue<int>());
            case JsonObject o:
                int? Int(string k) => o[k] is JsonValue x && x.TryGetValue<double>(out var n) ? (int)n : null;
                var s = new SizeSpec(Int("shortest_edge"), Int("longest_edge"), Int("height"), Int("width"), Int("max_height"), Int("max_width"));
                // Qwen2-VL's older configs give min_pixels / max_pixels inside size.
                if (s.ShortestEdge == null && Int("min_pixels") is int min) s = s with { ShortestEdge = min };
                if (s.LongestEdge == null && Int("max_pixels") is int max) s = s with { LongestEdge = max };
                return s;
            default: throw new ModelConfigException($"image processor config: '{field}' must be a number or an object, not {node.ToJsonString()}");
        }
    }
}

/// <summary>
/// The image processor part of a model's processor config: transformers 4's preprocessor_config.json (the image
/// processor's fields at the top level) or transformers 5's processor_config.json (under "image_processor"), with the
/// defaults of the named class where a field is absent. <see cref="Processor"/> keeps the processor-level fields
/// (patch_size, vision_feature_select_strategy, image_token, num_additional_image_tokens, ...).
/// </summary>
public sealed record ImageProcessorConfig
{
    public required string ImageProcessorType { get; init; }
    public bool DoConvertRgb { get; init; } = true;
    public bool DoResize { get; init; } = true;
    public SizeSpec? Size { get; init; }
    public PilResampling Resample { get; init; } = PilResampling.Bilinear;
    public bool DoCenterCrop { get; init; }
    public SizeSpec? CropSize { get; init; }
    public bool DoRescale { get; init; } = true;
    public double RescaleFactor { get; init; } = 1 / 255.0;
    public bool DoNormalize { get; init; } = true;
    public float[] ImageMean { get; init; } = [0.5f, 0.5f, 0.5f];
    public float[] ImageStd { get; init; } = [0.5f, 0.5f, 0.5f];
    public bool DoPad { get; init; }
    public SizeSpec? PadSize { get; init; }
    public int PatchSize { get; init; } = 14;
    public int TemporalPatchSize { get; init; } = 2;
    public int MergeSize { get; init; } = 2;
    public int[][] ImageGridPinpoints { get; init; } = [];
    public JsonObject Raw { get; init; } = new();
    public JsonObject Processor { get; init; } = new();

    public static readonly float[] OpenAiClipMean = [0.48145466f, 0.4578275f, 0.40821073f];
    public static readonly float[] OpenAiClipStd = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>Reads a model directory's processor_config.json (transformers 5) or preprocessor_config.json (4); null if it has neither.</summary>
    public static ImageProcessorConfig? FromDirectory(string dir)
    {
        JsonObject? processor = null, image = null;
        var processorPath = Path.Combine(dir, "processor_config.json");
        if (File.Exists(processorPath))
        {
            processor = Parse(processorPath);
            image = processor["image_processor"] as JsonObject;
        }
        var legacyPath = Path.Combine(dir, "preprocessor_config.json");
        if (image == null && File.Exists(legacyPath)) image = Parse(legacyPath);
        if (image == null) return null;
        return FromJson(image, processor);
    }

    static JsonObject Parse(string path)
    {
        try { return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new ModelConfigException($"{path} is not a JSON object"); }
        catch (JsonException e) { throw new ModelConfigException($"{path} is not valid JSON: {e.Message}"); }
    }

    public static ImageProcessorConfig FromJson(JsonObject image, JsonObject? processor = null)
    {
        var type = image["image_processor_type"]?.GetValue<string>()
            ?? (processor?["processor_class"]?.GetValue<string>() is string pc ? ProcessorToImageProcessor(pc) : null)
            ?? throw new ModelConfigException("image processor config: 'image_processor_type' is missing");
        if (type.EndsWith("Fast", StringComparison.Ordinal)) type = type[..^4];
        if (type.EndsWith("Pil", StringComparison.Ordinal)) type = type[..^3];
        var d = Defaults(type);

        bool Bool(string k, bool dflt) => image[k] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : dflt;
        int Int(string k, int dflt) => image[k] is JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : dflt;
        float[] Floats(string k, float[] dflt) => image[k] switch
        {
            JsonArray a => a.Select(x => (float)x!.GetValue<double>()).ToArray(),
            JsonValue v when v.TryGetValue<double>(out var x) => [(float)x, (float)x, (float)x],
            _ => dflt,
        };
        bool square = Bool("default_to_square", d.DefaultToSquare);
        var size = SizeSpec.Read(image["size"], square, "size") ?? d.Size;
        if (type == "Qwen2VLImageProcessor" || type == "Qwen2_5_VLImageProcessor")
        {
            // min_pixels / max_pixels at the top level override size (transformers' backward compatibility).
            if (image["min_pixels"] is JsonValue mn && mn.TryGetValue<double>(out var min)) size = (size ?? new()) with { ShortestEdge = (int)min };
            if (image["max_pixels"] is JsonValue mx && mx.TryGetValue<double>(out var max)) size = (size ?? new()) with { LongestEdge = (int)max };
        }
        var resample = image["resample"] is JsonValue r && r.TryGetValue<double>(out var rs) ? (PilResampling)(int)rs : d.Resample;
        var pinpoints = image["image_grid_pinpoints"] is JsonArray pp
            ? pp.Select(p => p!.AsArray().Select(x => x!.GetValue<int>()).ToArray()).ToArray() : d.Pinpoints;
        var mean = Floats("image_mean", d.Mean);
        var std = Floats("image_std", d.Std);
        if (mean.Length != 3 || std.Length != 3) throw new ModelConfigException("image processor config: image_mean and image_std must have 3 values (RGB)");
        return new ImageProcessorConfig
        {
            ImageProcessorType = type,
            DoConvertRgb = Bool("do_convert_rgb", true),
            DoResize = Bool("do_resize", true),
            Size = size,
            Resample = resample,
            DoCenterCrop = Bool("do_center_crop", d.DoCenterCrop),
            CropSize = SizeSpec.Read(image["crop_size"], true, "crop_size") ?? d.CropSize,
            DoRescale = Bool("do_rescale", true),
            RescaleFactor = image["rescale_factor"] is JsonValue rf && rf.TryGetValue<double>(out var f) ? f : 1 / 255.0,
            DoNormalize = Bool("do_normalize", true),
            ImageMean = mean,
            ImageStd = std,
            DoPad = Bool("do_pad", d.DoPad),
            PadSize = SizeSpec.Read(image["pad_size"], true, "pad_size"),
            PatchSize = Int("patch_size", 14),
            TemporalPatchSize = Int("temporal_patch_size", 2),
            MergeSize = Int("merge_size", 2),
            ImageGridPinpoints = pinpoints,
            Raw = image,
            Processor = processor ?? new JsonObject(),
        };
    }

    static string? ProcessorToImageProcessor(string processorClass) => processorClass switch
    {
        "LlavaProcessor" => "CLIPImageProcessor",
        "LlavaNextProcessor" => "LlavaNextImageProcessor",
        "Qwen2VLProcessor" or "Qwen2_5_VLProcessor" => "Qwen2VLImageProcessor",
        "LlavaOnevisionProcessor" => "LlavaOnevisionImageProcessor",
        "AyaVisionProcessor" => "GotOcr2ImageProcessor",
        "PixtralProcessor" => "PixtralImageProcessor",
        "FuyuProcessor" => "FuyuImageProcessor",
        "Blip2Processor" => "BlipImageProcessor",
        "Idefics3Processor" => "Idefics3ImageProcessor",
        "SmolVLMProcessor" => "SmolVLMImageProcessor",
        "Gemma3Processor" => "Gemma3ImageProcessor",
        "PaliGemmaProcessor" => "SiglipImageProcessor",
        _ => null,
    };

    sealed record ClassDefaults(SizeSpec? Size, PilResampling Resample, bool DoCenterCrop, SizeSpec? CropSize, float[] Mean,
        float[] Std, bool DefaultToSquare, bool DoPad, int[][] Pinpoints);

    /// <summary>The class attributes of transformers' image processors, used where a config leaves a field out.</summary>
    static ClassDefaults Defaults(string type) => type switch
    {
        "CLIPImageProcessor" => new(new(ShortestEdge: 224), PilResampling.Bicubic, true, SizeSpec.Square(224), OpenAiClipMean, OpenAiClipStd, false, false, []),
        "SiglipImageProcessor" => new(SizeSpec.Square(224), PilResampling.Bicubic, false, null, [0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f], true, false, []),
        "Gemma3ImageProcessor" => new(SizeSpec.Square(224), PilResampling.Bilinear, false, null, [0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f], true, false, []),
        "Qwen2VLImageProcessor" or "Qwen2_5_VLImageProcessor" => new(new(ShortestEdge: 56 * 56, LongestEdge: 28 * 28 * 1280), PilResampling.Bicubic, false, null, OpenAiClipMean, OpenAiClipStd, false, false, []),
        "LlavaNextImageProcessor" => new(new(ShortestEdge: 224), PilResampling.Bicubic, true, SizeSpec.Square(224), OpenAiClipMean, OpenAiClipStd, false, true,
            [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]),
        "LlavaOnevisionImageProcessor" => new(SizeSpec.Square(384), PilResampling.Bicubic, false, null, OpenAiClipMean, OpenAiClipStd, false, true,
            [.. from h in new[] { 1, 2, 3, 4, 5, 6 } from w in new[] { 1, 2, 3, 4, 5, 6 } select new[] { 384 * h, 384 * w }]),
        "GotOcr2ImageProcessor" => new(SizeSpec.Square(384), PilResampling.Bicubic, false, null, OpenAiClipMean, OpenAiClipStd, false, false, []),
        "PixtralImageProcessor" => new(new(LongestEdge: 1024), PilResampling.Bicubic, false, null, OpenAiClipMean, OpenAiClipStd, true, false, []),
        "FuyuImageProcessor" => new(new(Height: 1080, Width: 1920), PilResampling.Bilinear, false, null, [0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f], true, true, []),
        "BlipImageProcessor" => new(SizeSpec.Square(384), PilResampling.Bicubic, false, null, OpenAiClipMean, OpenAiClipStd, true, false, []),
        "Idefics3ImageProcessor" or "SmolVLMImageProcessor" => new(new(LongestEdge: 4 * 364), PilResampling.Lanczos, false, null, [0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f], true, true, []),
        _ => throw new ModelConfigException($"image processor '{type}' is not supported (supported: CLIPImageProcessor, SiglipImageProcessor, Qwen2VLImageProcessor, LlavaNextImageProcessor, LlavaOnevisionImageProcessor, GotOcr2ImageProcessor, PixtralImageProcessor, FuyuImageProcessor, BlipImageProcessor, Idefics3ImageProcessor, SmolVLMImageProcessor, Gemma3ImageProcessor)"),
    };
}

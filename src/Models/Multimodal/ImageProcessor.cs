namespace Pipeline.Models.Multimodal;

/// <summary>
/// One image after its model's image processor: <see cref="PixelValues"/> (float32, row-major, of <see cref="Shape"/>),
/// as transformers' processor returns them for this image alone, plus the layout facts the model and the placeholder
/// count need (Qwen2-VL's grid_thw, LLaVA-NeXT's original size).
/// </summary>
public sealed record ProcessedImage(float[] PixelValues, int[] Shape, int Height, int Width, int[]? GridThw = null)
{
    /// <summary>Idefics3/SmolVLM: the grid of tiles the image was split into (0 x 0: not split, only the global image).</summary>
    public int Rows { get; init; }
    public int Cols { get; init; }
}

/// <summary>A transformers image processor (PIL backend), chosen by the config's image_processor_type.</summary>
public abstract class ImageProcessor(ImageProcessorConfig config)
{
    public ImageProcessorConfig Config { get; } = config;

    public abstract ProcessedImage Process(RgbImage image);

    public static ImageProcessor Create(ImageProcessorConfig config) => config.ImageProcessorType switch
    {
        "Qwen2VLImageProcessor" or "Qwen2_5_VLImageProcessor" => new Qwen2VLImageProcessor(config),
        "LlavaNextImageProcessor" or "LlavaOnevisionImageProcessor" => new LlavaNextImageProcessor(config),
        "GotOcr2ImageProcessor" => new GotOcr2ImageProcessor(config),
        "PixtralImageProcessor" => new PixtralImageProcessor(config),
        "FuyuImageProcessor" => new FuyuImageProcessor(config),
        "Idefics3ImageProcessor" or "SmolVLMImageProcessor" => new Idefics3ImageProcessor(config),
        "Gemma3ImageProcessor" => new Gemma3ImageProcessor(config),
        _ => new BaseImageProcessor(config),
    };

    protected RgbImage Resize(RgbImage img, SizeSpec size)
    {
        var (h, w) = ImageTransforms.ResizeOutputSize(img.Height, img.Width, size);
        return PilResize.Resize(img, w, h, Config.Resample);
    }
}

/// <summary>
/// The PIL backend's default pipeline (CLIPImageProcessor, SiglipImageProcessor, ...): resize, center crop, rescale,
/// normalize, pad; pixel_values is 3 x H x W.
/// </summary>
public sealed class BaseImageProcessor(ImageProcessorConfig config) : ImageProcessor(config)
{
    public override ProcessedImage Process(RgbImage image)
    {
        var c = Config;
        var img = image;
        if (c.DoResize && c.Size != null) img = Resize(img, c.Size);
        if (c.DoCenterCrop && c.CropSize is { Height: int ch, Width: int cw }) img = ImageTransforms.CenterCrop(img, ch, cw);
        var chw = ImageTransforms.ToChw(img, c);
        int h = img.Height, w = img.Width;
        if (c.DoPad && c.PadSize is { Height: int ph, Width: int pw })
        {
            chw = ImageTransforms.PadChw(chw, h, w, ph, pw);
            (h, w) = (ph, pw);
        }
        return new ProcessedImage(chw, [3, h, w], image.Height, image.Width);
    }
}

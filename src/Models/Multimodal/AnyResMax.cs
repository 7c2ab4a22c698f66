using Pipeline.Models.Config;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// LLaVA-OneVision's vision_aspect_ratio "anyres_max_N": after unpadding, a feature map of more than ~N tiles' worth of
/// patches (ratio sqrt(h * w / (N * side^2)) above 1.1) is shrunk bilinearly to (h // ratio, w // ratio), so that an
/// image never takes much more than N tiles of tokens (transformers' pack_image_features and _get_unpadded_features).
/// </summary>
public static class AnyResMax
{
    /// <summary>N of "anyres_max_N" (Python's str.strip("anyres_max_") then int()).</summary>
    public static int Parse(string visionAspectRatio)
    {
        var digits = visionAspectRatio.Trim('a', 'n', 'y', 'r', 'e', 's', '_', 'm', 'x');
        return int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? n : throw new ModelConfigException($"vision_aspect_ratio '{visionAspectRatio}' is not of the form anyres_max_N");
    }

    /// <summary>The feature map's size after pooling: (height, width) unchanged unless the ratio passes 1.1.</summary>
    public static (int Height, int Width) PooledSize(int height, int width, int tileSide, int maxTiles)
    {
        double ratio = Math.Sqrt((double)height * width / (maxTiles * (double)tileSide * tileSide));
        return ratio > 1.1 ? ((int)PyFloorDiv(height, ratio), (int)PyFloorDiv(width, ratio)) : (height, width);
    }

    /// <summary>Python's float floor division a // b (via fmod, so a quotient that rounds up to an integer still floors).</summary>
    static double PyFloorDiv(double a, double b)
    {
        double mod = a % b;
        double div = (a - mod) / b;
        if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;
        double floor = Math.Floor(div);
        if (div - floor > 0.5) floor += 1;
        return floor;
    }
}

using System.Text.Json;
using Pipeline.Actors.Multimodal;

namespace Pipeline.Host.Cli;

/// <summary>Where images may come from and how many and how large they may be (vLLM's names where it has them).</summary>
public static class MediaCliOptions
{
    public static readonly OptionSpec[] Options =
    [
        new("allowed-local-media-path", "images may be read from file: URLs under this folder (off unless given)", Metavar: "DIR"),
        new("allowed-media-domains", "comma-separated hosts whose http(s) image URLs may be fetched, or * for any (off unless given)", Metavar: "HOSTS"),
        new("limit-mm-per-prompt", "most images in one prompt, as JSON {\"image\": N}, image=N or N", MediaOptions.Default.LimitImagesPerPrompt.ToString(), Metavar: "JSON"),
        new("media-fetch-timeout", "seconds an image URL may take to answer and send its bytes", MediaOptions.Default.FetchTimeout.TotalSeconds.ToString()),
        new("max-image-bytes", "largest encoded image accepted (data:, file: or http(s):)", MediaOptions.Default.MaxImageBytes.ToString()),
        new("max-image-pixels", "largest decoded image accepted, in pixels (width x height)", MediaOptions.Default.MaxImagePixels.ToString()),
    ];

    public static MediaOptions From(ParsedArgs a)
    {
        var limit = a.Get("limit-mm-per-prompt") ?? MediaOptions.Default.LimitImagesPerPrompt.ToString();
        int images;
        if (int.TryParse(limit, out var n)) images = n;
        else if (!limit.TrimStart().StartsWith('{'))
        {
            // vLLM's key=value form: image=2 (other modalities are refused by name).
            images = -1;
            foreach (var part in limit.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
                if (kv.Length != 2 || !int.TryParse(kv[1], out var k))
                    throw new CliException($"--limit-mm-per-prompt must be JSON like {{\"image\": 2}}, image=2 or a number, got '{limit}'");
                if (kv[0] != "image") throw new CliException($"--limit-mm-per-prompt: modality '{kv[0]}' is not supported (image)");
                images = k;
            }
            if (images == -1) throw new CliException($"--limit-mm-per-prompt must be JSON like {{\"image\": 2}}, image=2 or a number, got '{limit}'");
        }
        else
        {
            try
            {
                using var doc = JsonDocument.Parse(limit);
                images = doc.RootElement.TryGetProperty("image", out var v) && v.TryGetInt32(out var k) ? k
                    : throw new CliException($"--limit-mm-per-prompt must give \"image\" as an integer, got {limit}");
                foreach (var p in doc.RootElement.EnumerateObject())
                    if (p.Name != "image") throw new CliException($"--limit-mm-per-prompt: modality '{p.Name}' is not supported (image)");
            }
            catch (JsonException) { throw new CliException($"--limit-mm-per-prompt must be JSON like {{\"image\": 2}}, image=2 or a number, got '{limit}'"); }
        }
        if (images < 0) throw new CliException($"--limit-mm-per-prompt must not be negative, got {images}");
        var timeout = a.GetFloat("media-fetch-timeout") ?? (float)MediaOptions.Default.FetchTimeout.TotalSeconds;
        if (timeout <= 0) throw new CliException($"--media-fetch-timeout must be positive, got {timeout}");
        var maxBytes = a.GetLong("max-image-bytes") ?? MediaOptions.Default.MaxImageBytes;
        if (maxBytes <= 0) throw new CliException($"--max-image-bytes must be positive, got {maxBytes}");
        var maxPixels = a.GetLong("max-image-pixels") ?? MediaOptions.Default.MaxImagePixels;
        if (maxPixels <= 0) throw new CliException($"--max-image-pixels must be positive, got {maxPixels}");
        var local = a.Get("allowed-local-media-path");
        if (local != null && !Directory.Exists(local)) throw new CliException($"--allowed-local-media-path {local}: no such folder");
        return new MediaOptions
        {
            AllowedLocalMediaPath = local == null ? null : Path.GetFullPath(local),
            AllowedMediaDomains = (a.Get("allowed-media-domains") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            LimitImagesPerPrompt = images,
            FetchTimeout = TimeSpan.FromSeconds(timeout),
            MaxImageBytes = maxBytes,
            MaxImagePixels = maxPixels,
        };
    }
}

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
        new("limit-mm-per-prompt", "most images and audio clips in one prompt, as JSON {\"image\": N, \"audio\": M}, image=N,audio=M or N (images)", MediaOptions.Default.LimitImagesPerPrompt.ToString(), Metavar: "JSON"),
        new("media-fetch-timeout", "seconds an image URL may take to answer and send its bytes", MediaOptions.Default.FetchTimeout.TotalSeconds.ToString()),
        new("max-image-bytes", "largest encoded image accepted (data:, file: or http(s):)", MediaOptions.Default.MaxImageBytes.ToString()),
        new("max-image-pixels", "largest decoded image accepted, in pixels (width x height)", MediaOptions.Default.MaxImagePixels.ToString()),
    ];

    public static MediaOptions From(ParsedArgs a)
    {
        var limit = a.Get("limit-mm-per-prompt") ?? MediaOptions.Default.LimitImagesPerPrompt.ToString();
        var (images, audio) = Limits(limit);
        if (images < 0 || audio < 0) throw new CliException($"--limit-mm-per-prompt must not be negative, got {limit}");
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
            LimitAudioPerPrompt = audio,
            FetchTimeout = TimeSpan.FromSeconds(timeout),
            MaxImageBytes = maxBytes,
            MaxImagePixels = maxPixels,
        };
    }

    /// <summary>
    /// --limit-mm-per-prompt: a number (images), vLLM's key=value list or JSON object over "image" and "audio"; a
    /// modality left out keeps its default.
    /// </summary>
    static (int Images, int Audio) Limits(string limit)
    {
        int images = MediaOptions.Default.LimitImagesPerPrompt, audio = MediaOptions.Default.LimitAudioPerPrompt;
        var usage = $"--limit-mm-per-prompt must be JSON like {{\"image\": 2, \"audio\": 1}}, image=2,audio=1 or a number, got '{limit}'";
        void Set(string modality, int n)
        {
            if (modality == "image") images = n;
            else if (modality == "audio") audio = n;
            else throw new CliException($"--limit-mm-per-prompt: modality '{modality}' is not supported (image, audio)");
        }
        if (int.TryParse(limit, out var only)) return (only, audio);
        if (!limit.TrimStart().StartsWith('{'))
        {
            var parts = limit.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 0) throw new CliException(usage);
            foreach (var part in parts)
            {
                var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
                if (kv.Length != 2 || !int.TryParse(kv[1], out var k)) throw new CliException(usage);
                Set(kv[0], k);
            }
            return (images, audio);
        }
        try
        {
            using var doc = JsonDocument.Parse(limit);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.EnumerateObject().Any()) throw new CliException(usage);
            foreach (var p in doc.RootElement.EnumerateObject())
                Set(p.Name, p.Value.TryGetInt32(out var k) ? k
                    : throw new CliException($"--limit-mm-per-prompt must give \"{p.Name}\" as an integer, got {limit}"));
        }
        catch (JsonException) { throw new CliException(usage); }
        return (images, audio);
    }
}

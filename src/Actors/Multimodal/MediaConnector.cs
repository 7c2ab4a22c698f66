using System.Net;
using Pipeline.Models.Multimodal;

namespace Pipeline.Actors.Multimodal;

/// <summary>
/// Fetches an image's encoded bytes from where its URL points (vLLM's MediaConnector): data: URLs (base64), file: URLs
/// under the allowed local folder, and http(s) URLs of allowed domains, asynchronously, within the byte limit and the
/// fetch timeout. Every refusal is a <see cref="MediaException"/> naming the problem.
/// </summary>
public sealed class MediaConnector(MediaOptions options, HttpClient? http = null)
{
    static readonly Lazy<HttpClient> SharedHttp = new(() => new HttpClient(new SocketsHttpHandler
    {
        AllowAutoRedirect = false, // redirects are followed here, each target's domain checked
        AutomaticDecompression = DecompressionMethods.All,
    }) { Timeout = Timeout.InfiniteTimeSpan });

    public MediaOptions Options { get; } = options;

    public Task<byte[]> FetchAsync(string url, CancellationToken ct = default) => FetchAsync(url, "image", Options.MaxImageBytes, ct);

    /// <summary>
    /// The bytes of a <paramref name="modality"/> ("image" or "audio") URL, at most <paramref name="maxBytes"/>; a data:
    /// URL's media type must be of that modality (or application/octet-stream).
    /// </summary>
    public async Task<byte[]> FetchAsync(string url, string modality, long maxBytes, CancellationToken ct = default)
    {
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase)) return DecodeDataUrl(url, modality, maxBytes);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
            throw new MediaException($"{modality} URL '{Shorten(url)}' is not an absolute URL (expected data:, file: or http(s):)");
        return uri.Scheme switch
        {
            "file" => await ReadLocalAsync(uri, modality, maxBytes, ct).ConfigureAwait(false),
            "http" or "https" => await DownloadAsync(uri, modality, maxBytes, ct).ConfigureAwait(false),
            _ => throw new MediaException($"{modality} URL scheme '{uri.Scheme}' is not supported (expected data:, file: or http(s):)"),
        };
    }

    public byte[] DecodeDataUrl(string url) => DecodeDataUrl(url, "image", Options.MaxImageBytes);

    /// <summary>data:[&lt;mediatype&gt;][;base64],&lt;data&gt; with base64 data (as OpenAI's and vLLM's clients send images).</summary>
    public static byte[] DecodeDataUrl(string url, string modality, long maxBytes)
    {
        int comma = url.IndexOf(',');
        if (comma < 0) throw new MediaException($"{modality} data URL has no ',' before its data (expected data:{(modality == "image" ? "image/png" : "audio/wav")};base64,...)");
        var meta = url.AsSpan(5, comma - 5);
        if (!meta.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            throw new MediaException($"{modality} data URL must be base64 encoded (data:<type>;base64,...), got 'data:{meta}'");
        var mime = meta[..^7].ToString();
        if (mime.Length > 0 && !mime.StartsWith(modality + "/", StringComparison.OrdinalIgnoreCase) && mime != "application/octet-stream")
            throw new MediaException($"{modality} data URL has media type '{mime}', not {modality}/*");
        return DecodeBase64(url.AsSpan(comma + 1), $"{modality} data URL", modality, maxBytes);
    }

    /// <summary>Base64 text (a data URL's payload, or OpenAI's input_audio.data) to bytes, at most <paramref name="maxBytes"/>.</summary>
    public static byte[] DecodeBase64(ReadOnlySpan<char> payload, string what, string modality, long maxBytes)
    {
        long maxChars = (maxBytes + 2) / 3 * 4 + 4;
        if (payload.Length > maxChars)
            throw new MediaException($"{modality} is too large: its base64 data is {payload.Length} characters, more than {maxBytes} bytes (the limit) encode to");
        var bytes = new byte[payload.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(payload, bytes, out int written))
            throw new MediaException($"{what} is not valid base64 (check for truncation, whitespace or URL-safe characters)");
        if (written == 0) throw new MediaException($"{what} has no data");
        if (written > maxBytes)
            throw new MediaException($"{modality} is too large: {written} bytes, more than the limit of {maxBytes}");
        return bytes[..written];
    }

    async Task<byte[]> ReadLocalAsync(Uri uri, string modality, long maxBytes, CancellationToken ct)
    {
        if (Options.AllowedLocalMediaPath is not string root)
            throw new MediaException($"file: {modality} URLs are not allowed (start the server with --allowed-local-media-path DIR)");
        var path = Path.GetFullPath(uri.LocalPath);
        var allowed = Path.GetFullPath(root);
        // Resolve symbolic links so a link inside the folder cannot point out of it.
        if (!File.Exists(path)) throw new MediaException($"{modality} file '{uri.LocalPath}' does not exist");
        var resolved = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        if (!IsUnder(resolved, allowed))
            throw new MediaException($"{modality} path '{uri.LocalPath}' is outside the allowed local media folder ({allowed})");
        var info = new FileInfo(resolved);
        if (!info.Exists) throw new MediaException($"{modality} file '{uri.LocalPath}' does not exist");
        if (info.Length > maxBytes)
            throw new MediaException($"{modality} is too large: '{uri.LocalPath}' has {info.Length} bytes, more than the limit of {maxBytes}");
        return await File.ReadAllBytesAsync(resolved, ct).ConfigureAwait(false);
    }

    static bool IsUnder(string path, string folder)
    {
        var f = folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar;
        return path.StartsWith(f, StringComparison.Ordinal);
    }

    bool DomainAllowed(string host) =>
        Options.AllowedMediaDomains.Any(d => d == "*" || string.Equals(d, host, StringComparison.OrdinalIgnoreCase));

    async Task<byte[]> DownloadAsync(Uri uri, string modality, long maxBytes, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.FetchTimeout);
        var client = http ?? SharedHttp.Value;
        try
        {
            for (int hop = 0; ; hop++)
            {
                if (Options.AllowedMediaDomains.Count == 0)
                    throw new MediaException($"http(s) {modality} URLs are not allowed (start the server with --allowed-media-domains HOST[,HOST...])");
                if (!DomainAllowed(uri.Host))
                    throw new MediaException($"{modality} URL domain '{uri.Host}' is not allowed (--allowed-media-domains: {string.Join(", ", Options.AllowedMediaDomains)})");
                using var response = await client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is Uri next)
                {
                    if (hop >= Options.MaxRedirects) throw new MediaException($"{modality} URL {uri} redirects more than {Options.MaxRedirects} times");
                    uri = next.IsAbsoluteUri ? next : new Uri(uri, next);
                    if (uri.Scheme is not ("http" or "https")) throw new MediaException($"{modality} URL redirects to a {uri.Scheme}: URL, which is not followed");
                    continue;
                }
                if (!response.IsSuccessStatusCode)
                    throw new MediaException($"{modality} URL {uri} answered {(int)response.StatusCode} {response.ReasonPhrase}");
                if (response.Content.Headers.ContentLength is long n && n > maxBytes)
                    throw new MediaException($"{modality} is too large: {uri} has {n} bytes, more than the limit of {maxBytes}");
                await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                using var buffer = new MemoryStream();
                var chunk = new byte[81920];
                int read;
                while ((read = await stream.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
                {
                    if (buffer.Length + read > maxBytes)
                        throw new MediaException($"{modality} is too large: {uri} sends more than the limit of {maxBytes} bytes");
                    buffer.Write(chunk, 0, read);
                }
                return buffer.ToArray();
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new MediaException($"{modality} URL {uri} timed out after {Options.FetchTimeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            throw new MediaException($"{modality} URL {uri} could not be fetched: {e.Message}", e);
        }
    }

    static string Shorten(string s) => s.Length <= 64 ? s : s[..61] + "...";
}

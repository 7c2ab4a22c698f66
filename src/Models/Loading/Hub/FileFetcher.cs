using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// Fetches one file into a partial file: resumes what an earlier attempt left with a Range request, follows redirects
/// itself (the token goes only to the hub's own host, never to the CDN a redirect names), retries a cut connection
/// from where it stopped, and checks the content against the hub's checksum.
/// </summary>
internal sealed class FileFetcher(HttpClient http, string? token, int maxRetries, Func<HttpResponseMessage, string, Exception> httpError)
{
    const int MaxRedirects = 10;

    /// <param name="progress">Called with each count of bytes written (negative when a server ignored the Range and the file restarts).</param>
    public async Task FetchAsync(Uri url, string partialPath, RemoteFile file, Action<long> progress, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(partialPath)!);
        for (int attempt = 0; ; attempt++)
        {
            long have = File.Exists(partialPath) ? new FileInfo(partialPath).Length : 0;
            if (file.Size is long size && have > size) { File.Delete(partialPath); have = 0; }
            if (attempt == 0 && have > 0) progress(have);
            if (file.Size is long s && have == s && s > 0) break;
            try
            {
                await GetAsync(url, partialPath, have, file, progress, ct);
                break;
            }
            catch (Exception e) when (attempt < maxRetries && !ct.IsCancellationRequested && e is IOException or HttpRequestException { StatusCode: null })
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * (attempt + 1)), ct);
            }
            catch (Exception e) when (e is IOException or HttpRequestException { StatusCode: null })
            {
                throw new HubException($"downloading {file.Path} from {url.GetLeftPart(UriPartial.Authority)} failed after {attempt + 1} attempt(s): {e.Message}. " +
                    "Run the command again to resume where it stopped.", e);
            }
        }
        Verify(partialPath, file);
    }

    async Task GetAsync(Uri url, string partialPath, long have, RemoteFile file, Action<long> progress, CancellationToken ct)
    {
        using var response = await SendAsync(url, have, ct);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
        {
            // What is there is longer than the file, or the whole of it: start over and let the checksum decide.
            progress(-have);
            File.Delete(partialPath);
            using var again = await SendAsync(url, 0, ct);
            await WriteAsync(again, partialPath, append: false, progress, ct);
            return;
        }
        bool resumed = response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have;
        if (have > 0 && !resumed) progress(-have);
        await WriteAsync(response, partialPath, append: resumed, progress, ct);
    }

    static async Task WriteAsync(HttpResponseMessage response, string partialPath, bool append, Action<long> progress, CancellationToken ct)
    {
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        await using var output = new FileStream(partialPath, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        var buffer = new byte[1 << 20];
        int n;
        while ((n = await body.ReadAsync(buffer, ct)) > 0)
        {
            await output.WriteAsync(buffer.AsMemory(0, n), ct);
            progress(n);
        }
    }

    async Task<HttpResponseMessage> SendAsync(Uri url, long from, CancellationToken ct)
    {
        var current = url;
        for (int hop = 0; hop <= MaxRedirects; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (token != null && current.GetLeftPart(UriPartial.Authority) == url.GetLeftPart(UriPartial.Authority))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (from > 0) request.Headers.Range = new RangeHeaderValue(from, null);
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if ((int)response.StatusCode is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is Uri location)
            {
                response.Dispose();
                current = location.IsAbsoluteUri ? location : new Uri(current, location);
                continue;
            }
            if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable) return response;
            var error = httpError(response, url.ToString());
            response.Dispose();
            throw error;
        }
        throw new HubException($"too many redirects fetching {url}");
    }

    /// <summary>Checks the file against the hub's sha256 (or git blob id); a mismatch removes it and throws.</summary>
    static void Verify(string path, RemoteFile file)
    {
        long length = new FileInfo(path).Length;
        if (file.Size is long size && length != size)
            Fail(path, file, $"it has {length} bytes where the hub lists {size}");
        if (file.Sha256 is string sha)
        {
            string actual = HashFile(path, SHA256.Create(), null);
            if (!actual.Equals(sha, StringComparison.OrdinalIgnoreCase)) Fail(path, file, $"its sha256 is {actual} where the hub gives {sha}");
        }
        else if (file.GitBlobSha1 is string blob && blob.Length == 40)
        {
            string actual = HashFile(path, SHA1.Create(), System.Text.Encoding.ASCII.GetBytes($"blob {length}\0"));
            if (!actual.Equals(blob, StringComparison.OrdinalIgnoreCase)) Fail(path, file, $"its git blob id is {actual} where the hub gives {blob}");
        }
    }

    static void Fail(string path, RemoteFile file, string why)
    {
        File.Delete(path);
        throw new HubChecksumException($"{file.Path} is corrupted: {why}. The file was removed; run the command again to download it anew.");
    }

    internal static string HashFile(string path, HashAlgorithm algorithm, byte[]? prefix)
    {
        using (algorithm)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            if (prefix != null) algorithm.TransformBlock(prefix, 0, prefix.Length, null, 0);
            var buffer = new byte[1 << 20];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) algorithm.TransformBlock(buffer, 0, n, null, 0);
            algorithm.TransformFinalBlock([], 0, 0);
            return Convert.ToHexStringLower(algorithm.Hash!);
        }
    }
}

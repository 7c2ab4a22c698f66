using System.Globalization;

namespace Pipeline.Host.Progress;

/// <summary>
/// How much of a checkpoint the loader has read, seen from outside the loader: the weights are memory-mapped, so the
/// resident pages of each *.safetensors mapping (Rss in /proc/self/smaps) grow as its tensors are copied out. Linux
/// only; elsewhere (or for dummy weights) <see cref="TotalBytes"/> is 0 and progress shows no fraction.
/// </summary>
public sealed class CheckpointReadMeter
{
    readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);

    public CheckpointReadMeter(string? modelDir)
    {
        if (modelDir == null || !Directory.Exists(modelDir) || !File.Exists("/proc/self/smaps")) return;
        foreach (var f in Directory.GetFiles(modelDir, "*.safetensors"))
        {
            var full = Path.GetFullPath(f);
            // The mapping names the file it maps: a hub-cache snapshot's link resolves to its blob.
            var target = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
            _seen[target] = 0;
            TotalBytes += new FileInfo(target).Length;
        }
    }

    public long TotalBytes { get; }

    /// <summary>Bytes of the checkpoint read so far (the most seen: a shard's mapping goes away once it is loaded).</summary>
    public long ReadBytes()
    {
        if (TotalBytes == 0) return 0;
        string? current = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/smaps"))
            {
                if (IsMappingHeader(line)) { current = PathOf(line); continue; }
                if (current != null && line.StartsWith("Rss:", StringComparison.Ordinal) && _seen.TryGetValue(current, out var before))
                    _seen[current] = Math.Max(before, ParseKb(line) * 1024);
            }
        }
        catch (IOException) { }
        return Math.Min(TotalBytes, _seen.Values.Sum());
    }

    public double Fraction() => TotalBytes == 0 ? 0 : (double)ReadBytes() / TotalBytes;

    // "7f3c...-7f3d... r--s 00000000 08:01 1234   /path/model.safetensors": an address range first.
    static bool IsMappingHeader(string line) => line.Length > 0 && Uri.IsHexDigit(line[0]) && line.IndexOf('-') is > 0 and < 17;

    static string? PathOf(string header)
    {
        int slash = header.IndexOf('/');
        return slash < 0 ? null : header[slash..];
    }

    static long ParseKb(string rss)
    {
        var parts = rss.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) ? kb : 0;
    }
}

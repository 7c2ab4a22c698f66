using System.Diagnostics;
using System.Globalization;

namespace Pipeline.Models.Runtime;

/// <summary>
/// Device memory figures. TorchSharp 0.107 exposes no CUDA memory statistics, so they come from nvidia-smi:
/// the card's total memory and what this process holds (weights, activations and the caching allocator's reserve).
/// </summary>
public static class GpuMemory
{
    public sealed record Reading(long TotalBytes, long UsedByProcessBytes, long UsedBytes);

    public static Reading? Read(int deviceIndex)
    {
        var gpu = Query($"--query-gpu=index,memory.total,memory.used --format=csv,noheader,nounits");
        if (gpu == null) return null;
        var row = gpu.Select(l => l.Split(',', StringSplitOptions.TrimEntries)).FirstOrDefault(f => f.Length >= 3 && f[0] == deviceIndex.ToString(CultureInfo.InvariantCulture));
        if (row == null) return null;
        long total = long.Parse(row[1], CultureInfo.InvariantCulture) << 20;
        long used = long.Parse(row[2], CultureInfo.InvariantCulture) << 20;
        long mine = 0;
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var apps = Query("--query-compute-apps=pid,used_memory --format=csv,noheader,nounits");
        if (apps != null)
            foreach (var f in apps.Select(l => l.Split(',', StringSplitOptions.TrimEntries)))
                if (f.Length >= 2 && f[0] == pid && long.TryParse(f[1], out var mb)) mine += mb << 20;
        return new Reading(total, mine, used);
    }

    static string[]? Query(string args)
    {
        try
        {
            var psi = new ProcessStartInfo("nvidia-smi", args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p == null) return null;
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit(10_000);
            return p.ExitCode == 0 ? text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;
        }
        catch (Exception) { return null; }
    }
}

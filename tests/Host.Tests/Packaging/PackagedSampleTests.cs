using System.IO.Compression;
using System.Text.RegularExpressions;

namespace Pipeline.Host.Tests.Packaging;

/// <summary>
/// The libraries from outside the repository (issue 15, point 7): the packed feed, the sample built against it
/// running offline LLM.Generate and the hosted engine, the native-library fix arriving through the package, and the
/// pipeline executable installed as a .NET tool.
/// </summary>
public class PackagedSampleTests(PackedFeed feed) : IClassFixture<PackedFeed>
{
    static readonly TimeSpan Minutes = TimeSpan.FromMinutes(5);
    /// <summary>pipeline-tiny-en's greedy continuation of "The Congress has" (the README's first example).</summary>
    const string Expected = " already presented a detailed statement of the condition of the public finances.";

    string BuiltInModel => Path.Combine(AppContext.BaseDirectory, "models", "pipeline-tiny-en");

    [Fact]
    public void SampleRunsOfflineAndAsAHostedService()
    {
        var output = Dotnet.Check(feed.SampleDir, "dotnet", [feed.SampleDll, BuiltInModel], Minutes);
        var offline = Regex.Match(output, "^offline: (.*)$", RegexOptions.Multiline);
        var hosted = Regex.Match(output, "^hosted: (.*)$", RegexOptions.Multiline);
        Assert.True(offline.Success && hosted.Success, output);
        Assert.StartsWith(Expected, offline.Groups[1].Value);
        Assert.Equal(offline.Groups[1].Value, hosted.Groups[1].Value);
    }

    [Fact]
    public void TheNativeLibraryFixShipsAsBuildTransitiveTargets()
    {
        using var zip = ZipFile.OpenRead(Path.Combine(feed.Feed, $"Pipeline.Models.{feed.Version}.nupkg"));
        Assert.Contains(zip.Entries, e => e.FullName == "buildTransitive/Pipeline.Models.targets");
        Assert.Contains(zip.Entries, e => e.FullName == "buildTransitive/GlibcxxWeakenTask.cs");
        // The sample references only Pipeline.Hosting: the targets reached it through the dependency chain.
        var lib = Path.Combine(Path.GetDirectoryName(feed.SampleDll)!, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(GlibcxxVersionIsWeak(File.ReadAllBytes(lib)) == true, "libLibTorchSharp.so in the sample's output still needs GLIBCXX_3.4.32 (or the requirement was not found)");
    }

    [Fact]
    public void ThePipelineToolInstallsAndRunsTheBuiltInModel()
    {
        var tools = Path.Combine(feed.Dir, "tools");
        Dotnet.Check(feed.Dir, "dotnet", ["tool", "install", "Pipeline.Cli", "--version", feed.Version, "--tool-path", tools], Minutes);
        // Run outside the repository: the built-in model must come from the tool package itself.
        var output = Dotnet.Check(feed.Dir, Path.Combine(tools, "pipeline"), ["generate", "--prompt", "The Congress has", "--max-tokens", "16", "--temperature", "0"], Minutes);
        Assert.StartsWith(Expected, output);
    }

    /// <summary>
    /// Reads the ELF version-needed entries (.gnu.version_r) and says whether GLIBCXX_3.4.32 is marked VER_FLG_WEAK:
    /// what build/GlibcxxWeakenTask.cs writes; null when the library has no such requirement.
    /// </summary>
    static bool? GlibcxxVersionIsWeak(byte[] elf)
    {
        const uint SHT_GNU_verneed = 0x6ffffffe;
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != SHT_GNU_verneed) continue;
            long offset = BitConverter.ToInt64(elf, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 0x28);
            long strtab = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize) + 0x18);
            for (long need = offset; ; )
            {
                int count = BitConverter.ToUInt16(elf, (int)need + 2);
                long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (int k = 0; k < count; k++)
                {
                    int flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                    long name = strtab + BitConverter.ToUInt32(elf, (int)aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, (int)name);
                    if (System.Text.Encoding.ASCII.GetString(elf, (int)name, end - (int)name) == "GLIBCXX_3.4.32") return (flags & 0x2) != 0;
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                uint next = BitConverter.ToUInt32(elf, (int)need + 12);
                if (next == 0) break;
                need += next;
            }
        }
        return null;
    }
}

using Pipeline.Models.Native;

namespace Pipeline.Models.Tests.Native;

/// <summary>libpipeline_native is optional: without it (CPU runs, CI) the loader says so cleanly and cheaply.</summary>
public class NativeLibraryLoaderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("pn-native-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void No_library_anywhere_is_not_available_with_a_reason()
    {
        var status = NativeLibraryLoader.Probe(null, _dir, cudaAvailable: true, out var exports, out var final);
        Assert.False(status.Available);
        Assert.Null(status.Path);
        Assert.Null(exports);
        Assert.True(final);
        Assert.Contains(NativeLibraryLoader.FileName, status.Detail);
        Assert.StartsWith("not available (", status.ToString());
    }

    [Fact]
    public void Environment_variable_naming_a_missing_file_is_reported()
    {
        var missing = Path.Combine(_dir, "nowhere", "libpipeline_native.so");
        var status = NativeLibraryLoader.Probe(missing, _dir, cudaAvailable: true, out _, out _);
        Assert.False(status.Available);
        Assert.Contains(NativeLibraryLoader.EnvironmentVariable, status.Detail);
    }

    [Fact]
    public void Library_beside_the_executable_or_in_native_is_found()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "native"));
        var inNative = Path.Combine(_dir, "native", NativeLibraryLoader.FileName);
        File.WriteAllText(inNative, "");
        Assert.Equal(inNative, NativeLibraryLoader.Find(null, _dir, out _));
        var beside = Path.Combine(_dir, NativeLibraryLoader.FileName);
        File.WriteAllText(beside, "");
        Assert.Equal(beside, NativeLibraryLoader.Find(null, _dir, out _));
        Assert.Equal(beside, NativeLibraryLoader.Find(_dir, "/nonexistent", out _));  // the variable may name a folder
    }

    [Fact]
    public void Found_but_cpu_only_is_not_loaded_and_asked_again_later()
    {
        File.WriteAllText(Path.Combine(_dir, NativeLibraryLoader.FileName), "not an ELF file");
        var status = NativeLibraryLoader.Probe(null, _dir, cudaAvailable: false, out var exports, out var final);
        Assert.False(status.Available);
        Assert.False(final);
        Assert.Null(exports);
        Assert.Contains("CUDA is not in use", status.Detail);
    }

    [Fact]
    public void A_file_that_does_not_load_is_reported_not_thrown()
    {
        var path = Path.Combine(_dir, NativeLibraryLoader.FileName);
        File.WriteAllText(path, "not an ELF file");
        var status = NativeLibraryLoader.Probe(path, _dir, cudaAvailable: true, out var exports, out _);
        Assert.False(status.Available);
        Assert.Null(exports);
        Assert.Contains("failed to load", status.Detail);
    }

    [Fact]
    public void Process_without_the_library_reports_not_available_for_pipeline_env()
    {
        // CI and dev machines have no GPU and no built library next to the test assembly.
        if (Environment.GetEnvironmentVariable(NativeLibraryLoader.EnvironmentVariable) != null) return;
        Assert.False(NativeOps.IsAvailable);
        Assert.Null(NativeOps.Location);
        Assert.StartsWith("not available (", NativeOps.Describe());
        Assert.Throws<InvalidOperationException>(() => new CudaGraph());
    }
}

using Pipeline.Models.Loading;
using Pipeline.Models.Registry;
using Pipeline.Models.Tests.Fixtures;
using TorchSharp;

namespace Pipeline.Models.Tests.Registry;

/// <summary>vLLM's and transformers' names for one entry, and the error for a name neither registry knows.</summary>
public class RegistryNamesTests
{
    [Theory]
    [InlineData("OLMoForCausalLM", "OlmoForCausalLM")]
    [InlineData("OLMo2ForCausalLM", "Olmo2ForCausalLM")]
    [InlineData("OLMoEForCausalLM", "OlmoeForCausalLM")]
    [InlineData("MPTForCausalLM", "MptForCausalLM")]
    [InlineData("Ernie4_5_ForCausalLM", "Ernie4_5ForCausalLM")]
    [InlineData("PhiMoEForCausalLM", "PhimoeForCausalLM")]
    [InlineData("RWForCausalLM", "FalconForCausalLM")]
    public void VllmsNameFindsTransformersEntry(string vllm, string transformers)
    {
        Assert.Same(ModelRegistry.Get(transformers), ModelRegistry.Get(vllm));
        Assert.Contains(vllm, ModelRegistry.AliasesOf(transformers));
        Assert.Same(ModelRegistry.Get(transformers), RunnerSelection.Resolve(vllm).Generative);
    }

    [Fact]
    public void EveryNameHasOneEntry()
    {
        var names = ModelRegistry.BuiltIn.Select(e => e.Architecture).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        // An alias is never also an entry of its own (one entry, several names).
        foreach (var e in ModelRegistry.BuiltIn)
            foreach (var alias in ModelRegistry.AliasesOf(e.Architecture))
                Assert.DoesNotContain(alias, names);
    }

    [Fact]
    public void AnUnknownArchitectureIsOneLineNamingItAndTheList()
    {
        var dir = Directory.CreateTempSubdirectory("model").FullName;
        foreach (var f in Directory.GetFiles(ModelFixture.Dir("llama"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("LlamaForCausalLM", "FancyNewForCausalLM"));
        var e = Assert.Throws<UnsupportedArchitectureException>(() => ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU).Model.Dispose());
        Assert.Equal("Model architecture 'FancyNewForCausalLM' is not supported; the supported architectures are listed in docs/supported-models.md "
            + "and by `pipeline models --supported` (a model plugin can add one: --model-plugin PATH.dll)", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(e.Message, Assert.Throws<UnsupportedArchitectureException>(() => RunnerSelection.Resolve("FancyNewForCausalLM")).Message);
        Directory.Delete(dir, recursive: true);
    }
}

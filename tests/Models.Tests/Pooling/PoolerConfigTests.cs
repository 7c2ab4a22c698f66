using Pipeline.Models.Pooling;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>Pooler config: task defaults, sentence-transformers files, --override-pooler-config, per-request params.</summary>
public sealed class PoolerConfigTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("pooler-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    void WriteSt(string poolingJson, bool normalize, string poolingPath = "1_Pooling")
    {
        var modules = $$"""
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "{{poolingPath}}", "type": "sentence_transformers.models.Pooling"}
             {{(normalize ? """, {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}""" : "")}}]
            """;
        File.WriteAllText(Path.Combine(_dir, "modules.json"), modules);
        Directory.CreateDirectory(Path.Combine(_dir, poolingPath));
        File.WriteAllText(Path.Combine(_dir, poolingPath, "config.json"), poolingJson);
    }

    [Fact]
    public void TaskDefaultsFollowVllm()
    {
        var decEmbed = PoolerDefaults.For(PoolingTask.Embed, isEncoder: false, PoolingType.LAST);
        Assert.Equal((PoolingType.LAST, true), (decEmbed.PoolingType!.Value, decEmbed.Normalize!.Value));
        Assert.Equal(PoolingType.CLS, PoolerDefaults.For(PoolingTask.Embed, isEncoder: true, PoolingType.CLS).PoolingType);
        var decCls = PoolerDefaults.For(PoolingTask.Classify, isEncoder: false, PoolingType.LAST);
        Assert.Equal((PoolingType.LAST, true), (decCls.PoolingType!.Value, decCls.Activation!.Value));
        Assert.Equal(PoolingType.CLS, PoolerDefaults.For(PoolingTask.Classify, isEncoder: true, PoolingType.CLS).PoolingType);
        Assert.Equal(PoolingType.ALL, PoolerDefaults.For(PoolingTask.Reward, isEncoder: false, PoolingType.LAST).PoolingType);
    }

    [Theory]
    [InlineData("""{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}""", PoolingType.CLS)]
    [InlineData("""{"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false}""", PoolingType.MEAN)]
    [InlineData("""{"pooling_mode_lasttoken": true}""", PoolingType.LAST)]
    [InlineData("""{"pooling_mode": "mean"}""", PoolingType.MEAN)]
    public void SentenceTransformersPoolingModes(string json, PoolingType want)
    {
        WriteSt(json, normalize: true);
        var st = SentenceTransformersConfig.Load(_dir)!;
        Assert.Equal(want, st.PoolingType);
        Assert.True(st.Normalize);
        var c = PoolerDefaults.For(PoolingTask.Embed, isEncoder: false, PoolingType.LAST, _dir);
        Assert.Equal(want, c.PoolingType);
    }

    [Fact]
    public void NoNormalizeModuleMeansNoNormalization()
    {
        WriteSt("""{"pooling_mode_mean_tokens": true}""", normalize: false);
        var c = PoolerDefaults.For(PoolingTask.Embed, isEncoder: true, PoolingType.CLS, _dir);
        Assert.Equal(PoolingType.MEAN, c.PoolingType);
        Assert.False(c.Normalize);
        // sentence-transformers files only set embedding defaults
        Assert.Equal(PoolingType.CLS, PoolerDefaults.For(PoolingTask.Classify, isEncoder: true, PoolingType.CLS, _dir).PoolingType);
    }

    [Fact]
    public void NotASentenceTransformersModel() => Assert.Null(SentenceTransformersConfig.Load(_dir));

    [Theory]
    [InlineData("""{"pooling_mode_max_tokens": true}""", "pooling_mode_max_tokens")]
    [InlineData("""{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true}""", "several pooling modes")]
    [InlineData("""{}""", "no pooling mode")]
    [InlineData("""{"pooling_mode": "max"}""", "'pooling_mode' 'max'")]
    [InlineData("""not json""", "not valid JSON")]
    public void BadSentenceTransformersFiles(string json, string message)
    {
        WriteSt(json, normalize: false);
        var ex = Assert.Throws<PoolingException>(() => SentenceTransformersConfig.Load(_dir));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void MissingPoolingModuleConfigIsNamed()
    {
        File.WriteAllText(Path.Combine(_dir, "modules.json"), """[{"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]""");
        var ex = Assert.Throws<PoolingException>(() => SentenceTransformersConfig.Load(_dir));
        Assert.Contains("1_Pooling", ex.Message);
    }

    [Fact]
    public void OverridesWinOverDefaultsAndStFiles()
    {
        WriteSt("""{"pooling_mode_mean_tokens": true}""", normalize: true);
        var o = PoolerConfig.Parse("""{"pooling_type": "cls", "normalize": false, "dimensions": 8}""");
        var c = PoolerDefaults.For(PoolingTask.Embed, isEncoder: true, PoolingType.CLS, _dir, o);
        Assert.Equal(PoolingType.CLS, c.PoolingType);
        Assert.False(c.Normalize);
        Assert.Equal(8, c.Dimensions);
        var step = PoolerConfig.Parse("""{"pooling_type": "STEP", "step_tag_id": 7, "returned_token_ids": [3, 5], "softmax": true}""");
        Assert.Equal((PoolingType.STEP, 7, true), (step.PoolingType!.Value, step.StepTagId!.Value, step.Softmax!.Value));
        Assert.Equal([3, 5], step.ReturnedTokenIds!);
    }

    [Theory]
    [InlineData("""{"pooling_type": "MAX"}""", "'pooling_type'")]
    [InlineData("""{"pooling_type": 2}""", "'pooling_type'")]
    [InlineData("""{"normalize": "yes"}""", "'normalize'")]
    [InlineData("""{"dimensions": 0}""", "'dimensions'")]
    [InlineData("""{"dimensions": 1.5}""", "'dimensions'")]
    [InlineData("""{"returned_token_ids": [1, "a"]}""", "'returned_token_ids'[1]")]
    [InlineData("""{"returned_token_ids": 3}""", "'returned_token_ids'")]
    [InlineData("""{"step_tag": 3}""", "unknown field 'step_tag'")]
    [InlineData("""[1]""", "JSON object")]
    [InlineData("""{pooling_type""", "not valid JSON")]
    public void BadOverridesNameTheField(string json, string message)
    {
        var ex = Assert.Throws<PoolingException>(() => PoolerConfig.Parse(json));
        Assert.Contains(message, ex.Message);
        Assert.Contains("--override-pooler-config", ex.Message);
    }

    [Fact]
    public void RequestParamsResolveOverModelConfig()
    {
        var model = new PoolerConfig { PoolingType = PoolingType.MEAN, Normalize = true };
        var r = new PoolingParams { Dimensions = 8 }.Resolve(model, PoolingTask.Embed, 64);
        Assert.Equal(new ResolvedPooling(PoolingType.MEAN, true, false, 8, null, null), r);
        Assert.False(new PoolingParams { Normalize = false }.Resolve(model, PoolingTask.Embed, 64).Normalize);
        Assert.True(new PoolingParams { Softmax = true }.Resolve(model, PoolingTask.Classify, 64).Activation);
        Assert.False(new PoolingParams { Activation = false }.Resolve(new PoolerConfig { PoolingType = PoolingType.CLS, Softmax = true }, PoolingTask.Classify, 64).Activation);
    }

    [Theory]
    [InlineData(65, PoolingTask.Embed, "'dimensions' must be between 1 and the model's hidden size 64")]
    [InlineData(0, PoolingTask.Embed, "'dimensions'")]
    [InlineData(8, PoolingTask.Classify, "'dimensions' applies only to embed")]
    public void BadDimensions(int dims, PoolingTask task, string message)
    {
        var ex = Assert.Throws<PoolingException>(() => new PoolingParams { Dimensions = dims }.Resolve(new PoolerConfig { PoolingType = PoolingType.CLS }, task, 64));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void ConflictingSoftmaxAndActivation()
    {
        var ex = Assert.Throws<PoolingException>(() => new PoolingParams { Softmax = true, Activation = false }.Resolve(new PoolerConfig { PoolingType = PoolingType.CLS }, PoolingTask.Classify, 64));
        Assert.Contains("'softmax'", ex.Message);
    }

    [Fact]
    public void DimensionsMustBeAMatryoshkaSizeWhenTheModelListsThem()
    {
        var model = new PoolerConfig { PoolingType = PoolingType.LAST, Normalize = true };
        Assert.Equal(32, new PoolingParams { Dimensions = 32 }.Resolve(model, PoolingTask.Embed, 64, [16, 32, 64]).Dimensions);
        var ex = Assert.Throws<PoolingException>(() => new PoolingParams { Dimensions = 20 }.Resolve(model, PoolingTask.Embed, 64, [16, 32, 64]));
        Assert.Contains("matryoshka_dimensions [16, 32, 64]", ex.Message);
    }
}

using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Tests.Tokenizers;

public class BpeChunkingTests
{
    [Fact]
    public void MetaspaceChunkingGivesTheSameIdsAsWholeWordBpe()
    {
        var chunked = HfTokenizer.Load(Fixtures.Dir("llama2"));
        var whole = HfTokenizer.Load(Fixtures.Dir("llama2"));
        Assert.True(((BpeModel)chunked.Model).ChunkAtMetaspace);
        ((BpeModel)whole.Model).ChunkAtMetaspace = false;
        var texts = Fixtures.File("llama2").Cases.Select(c => c.Text).ToList();
        string all = string.Join("  ", texts) + "\n\n" + string.Join(" ", texts.AsEnumerable().Reverse());
        foreach (var t in texts.Append(all).Append(string.Concat(Enumerable.Repeat("   a  bb ccc\t", 40))))
            Assert.Equal(whole.Encode(t), chunked.Encode(t));
    }
}

namespace Pipeline.Actors.Tests;

public class ProjectSmokeTests
{
    [Fact]
    public void AssemblyLoads() => Assert.Equal("Pipeline.Actors", typeof(Pipeline.Actors.AssemblyMarker).Assembly.GetName().Name);
}

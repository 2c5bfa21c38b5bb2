import { benchPipeline } from '/work/main/bench/pipeline.ts';
await benchPipeline();

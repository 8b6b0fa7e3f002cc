/** What a deploy has produced so far, as it travels in progress views and results. Pure. */
export interface Artifacts {
  imageRef?: string;
  imageDigest?: string;
  taskDefinitionArn?: string;
  previousTaskDefinitionArn?: string;
}

/** The artifacts that are known, without keys for those that are not (results stay free of undefined). */
export function knownArtifacts(from: { [K in keyof Artifacts]?: string | undefined }): Artifacts {
  const out: Artifacts = {};
  if (from.imageRef) out.imageRef = from.imageRef;
  if (from.imageDigest) out.imageDigest = from.imageDigest;
  if (from.taskDefinitionArn) out.taskDefinitionArn = from.taskDefinitionArn;
  if (from.previousTaskDefinitionArn) out.previousTaskDefinitionArn = from.previousTaskDefinitionArn;
  return out;
}

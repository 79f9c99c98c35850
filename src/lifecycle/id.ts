// Container ids become directory names under --root: keep them to a safe alphabet.
const ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
export const MAX_ID_LENGTH = 128;

export function checkId(id: string | undefined): string {
  if (!id) throw new Error("container id cannot be empty");
  if (id.length > MAX_ID_LENGTH) throw new Error(`container id is longer than ${MAX_ID_LENGTH} characters`);
  if (!ID.test(id)) {
    throw new Error(
      `invalid container id ${JSON.stringify(id)}: use letters, digits and _ . + - (not first)`,
    );
  }
  return id;
}
